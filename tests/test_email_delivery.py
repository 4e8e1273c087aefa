"""E-mail through the outbox, received by a real SMTP server (aiosmtpd on 127.0.0.1): what a reader's mail client
shows, what an operator finds in the outbox when a server refuses or is away, and that a bot killed in the middle
of a send never mails anyone twice."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from bot.core.clock import SystemClock
from bot.delivery.outbox import Dispatcher, DispatchPolicy
from handlers.email import EmailSender, SmtpConfig
from storage import open_store
from storage.base import Store

from conftest import ROOT, Operator, eventually
from faults import free_port
from smtp_mailbox import Delivered, Mailbox, refuse_password, smtp_server

BACKENDS = ("sqlite", "postgresql")
SENDER = "Referrals <referrals@example.com>"
REPLY_TO = "Acme Team <team@example.com>"
POLICY = DispatchPolicy(idle_wait=0.05, claim_gap=0.0, max_backoff=0.05, outage_backoff=0.2, rates=())
UNSUBSCRIBE = "https://referrals.example.com/unsubscribe/Vb3kQ9zR2mXw7LpN4tYh8sJc6dFg1aEu5oIi0rTyWq"


@pytest.fixture
async def store(operator: Operator) -> AsyncIterator[Store]:
    opened = await open_store(operator.url)
    await opened.migrate()
    yield opened
    await opened.close()


def payload(subject: str, text: str, html: str, unsubscribe: str | None = UNSUBSCRIBE, locale: str = "en") -> Any:
    return {"subject": subject, "html": html, "text": text, "unsubscribe_url": unsubscribe, "locale": locale}


async def queue(store: Store, address: str, mail: dict[str, Any] | None = None) -> None:
    """An e-mail row as the domain writes it."""
    async with store.transaction() as tx:
        mail = mail or payload("Hi", "Hello", "<p>Hello</p>")
        assert await tx.enqueue("email", address, mail, f"test:{address}", SystemClock().now())


@asynccontextmanager
async def dispatching(store: Store, smtp_url: str, reply_to: str = "", per_second: float | None = None) -> Any:
    clock = SystemClock()
    config = SmtpConfig.parse(smtp_url, SENDER, reply_to)
    async with EmailSender(config, store, clock.now, per_second) as sender:
        dispatcher = Dispatcher(store, {"email": sender}, clock, POLICY)
        running = asyncio.create_task(dispatcher.run())
        try:
            yield dispatcher
        finally:
            dispatcher.stop()
            await asyncio.wait_for(running, 10)


def outbox(operator: Operator, address: str) -> dict[str, Any]:
    (row,) = operator.rows(
        "SELECT id, status, attempts, last_error, platform_message_id FROM outbox WHERE chat_id = ?", address
    )
    return row


def settled(operator: Operator) -> bool:
    return operator.count("outbox WHERE status IN ('pending', 'sending')") == 0


# --- What a reader sees ---------------------------------------------------------------------------------------------


async def test_a_mail_reaches_its_reader_with_both_parts_and_every_header(store: Store, operator: Operator) -> None:
    mailbox, port = Mailbox(), free_port()
    subject = "آنا شما را به قهوه‌ی اکمه دعوت کرد"
    text = "سلام بن! آنا فکر می‌کند قهوه‌ی ما را دوست خواهید داشت.\nhttps://t.me/AcmeReferralBot?start=ana"
    html = f'<html dir="rtl" lang="fa"><body><p>{text.splitlines()[0]}</p></body></html>'
    await queue(store, "ben@example.com", payload(subject, text, html, locale="fa"))
    async with smtp_server(mailbox, port), dispatching(store, f"smtp://127.0.0.1:{port}", REPLY_TO):
        await eventually(lambda: len(mailbox.delivered) == 1)
        await eventually(lambda: settled(operator))
    (arrived,) = mailbox.delivered
    message, row = arrived.message, outbox(operator, "ben@example.com")
    assert (arrived.mail_from, arrived.rcpt_tos) == ("referrals@example.com", ["ben@example.com"])
    assert message["From"] == SENDER and message["To"] == "ben@example.com" and message["Reply-To"] == REPLY_TO
    assert message["Subject"] == subject and message["Date"] is not None
    assert message["Message-ID"] == f"<{row['id']}@example.com>" == row["platform_message_id"]
    assert message["List-Unsubscribe"] == f"<{UNSUBSCRIBE}>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["Content-Language"] == "fa"
    assert message.get_content_type() == "multipart/alternative"
    plain, rich = message.iter_parts()  # the text first: a client shows the last part it can render
    assert (plain.get_content_type(), rich.get_content_type()) == ("text/plain", "text/html")
    assert isinstance(plain, EmailMessage) and isinstance(rich, EmailMessage)
    assert plain.get_content().replace("\r\n", "\n").strip() == text
    assert "سلام بن! آنا فکر می‌کند" in rich.get_content() and 'dir="rtl"' in rich.get_content()
    assert (row["status"], row["attempts"]) == ("sent", 1)


async def test_a_mail_without_an_unsubscribe_link_has_no_list_headers(store: Store, operator: Operator) -> None:
    mailbox, port = Mailbox(), free_port()
    await queue(store, "ana@example.com", payload("Your reward", "Thanks!", "<p>Thanks!</p>", unsubscribe=None))
    async with smtp_server(mailbox, port), dispatching(store, f"smtp://127.0.0.1:{port}"):
        await eventually(lambda: len(mailbox.delivered) == 1)
    (message,) = mailbox.to("ana@example.com")
    assert message["Subject"] == "Your reward" and message["Content-Language"] == "en"
    assert message["List-Unsubscribe"] is None and message["List-Unsubscribe-Post"] is None
    assert message["Reply-To"] is None  # replies go to the From address


async def test_mail_is_paced_to_the_providers_rate(store: Store, operator: Operator) -> None:
    mailbox, port = Mailbox(), free_port()
    arrivals: list[float] = []
    mailbox.on_data = lambda _: arrivals.append(time.monotonic())
    for n in range(4):
        await queue(store, f"friend{n}@example.com")
    async with smtp_server(mailbox, port), dispatching(store, f"smtp://127.0.0.1:{port}", per_second=5.0):
        await eventually(lambda: len(mailbox.delivered) == 4)
    assert arrivals[-1] - arrivals[0] >= 0.55  # four mails at five a second: three gaps of 0.2s


async def test_a_server_that_takes_one_mail_per_connection_gets_a_new_one_for_each(
    store: Store, operator: Operator
) -> None:
    mailbox, port = Mailbox(per_connection=1), free_port()
    addresses = [f"friend{n}@example.com" for n in range(3)]
    for address in addresses:
        await queue(store, address)
    async with smtp_server(mailbox, port), dispatching(store, f"smtp://127.0.0.1:{port}"):
        await eventually(lambda: len(mailbox.delivered) == 3)
        await eventually(lambda: settled(operator))
    for address in addresses:  # the 421 to the kept connection was not the mail's failure
        row = outbox(operator, address)
        assert (row["status"], row["attempts"], row["last_error"]) == ("sent", 1, None)


# --- What an operator sees when a server says no, or is away -----------------------------------------------------


async def test_a_refused_recipient_is_a_dead_letter_and_the_others_go(store: Store, operator: Operator) -> None:
    mailbox, port = Mailbox(refuse={"gone@example.com": "550 5.1.1 <gone@example.com>: no such mailbox"}), free_port()
    await queue(store, "gone@example.com")
    await queue(store, "ana@example.com")
    async with smtp_server(mailbox, port), dispatching(store, f"smtp://127.0.0.1:{port}"):
        await eventually(lambda: settled(operator))
    dead = outbox(operator, "gone@example.com")
    assert dead["status"] == "dead" and "550 5.1.1" in dead["last_error"] and "gone@example.com" in dead["last_error"]
    assert operator.count("events WHERE kind = 'outbox.dead'") == 1
    assert len(mailbox.to("ana@example.com")) == 1 and mailbox.to("gone@example.com") == []


async def test_a_temporary_refusal_of_the_message_is_tried_again(store: Store, operator: Operator) -> None:
    mailbox, port = Mailbox(data_replies=["451 4.3.0 Mail server temporarily rejected message"]), free_port()
    await queue(store, "ana@example.com")
    async with smtp_server(mailbox, port), dispatching(store, f"smtp://127.0.0.1:{port}"):
        await eventually(lambda: len(mailbox.delivered) == 1)
        await eventually(lambda: settled(operator))
    row = outbox(operator, "ana@example.com")
    assert (row["status"], row["attempts"]) == ("sent", 2) and "451 4.3.0" in row["last_error"]
    assert len(mailbox.to("ana@example.com")) == 1


async def test_mail_waits_while_the_server_is_away_and_goes_when_it_is_back(store: Store, operator: Operator) -> None:
    mailbox, port = Mailbox(), free_port()
    await queue(store, "ana@example.com")
    async with dispatching(store, f"smtp://127.0.0.1:{port}"):
        await eventually(lambda: outbox(operator, "ana@example.com")["last_error"] is not None)
        await asyncio.sleep(0.5)  # a few more tries of a server that is still away
        row = outbox(operator, "ana@example.com")
        assert row["status"] in ("pending", "sending") and "cannot reach the SMTP server" in row["last_error"]
        async with smtp_server(mailbox, port):
            await eventually(lambda: len(mailbox.delivered) == 1)
            await eventually(lambda: settled(operator))
    row = outbox(operator, "ana@example.com")
    assert (row["status"], row["attempts"]) == ("sent", 1)  # the tries while it was away spent no attempt


async def test_a_refused_login_holds_the_mail_and_names_no_password(
    store: Store, operator: Operator, caplog: pytest.LogCaptureFixture
) -> None:
    mailbox, port = Mailbox(), free_port()
    await queue(store, "ana@example.com")
    options = {"authenticator": refuse_password, "auth_require_tls": False}
    url = f"smtp://mailer:s3cr%2Ft%40pw@127.0.0.1:{port}"  # the password is s3cr/t@pw
    async with smtp_server(mailbox, port, **options), dispatching(store, url):
        await eventually(lambda: outbox(operator, "ana@example.com")["last_error"] is not None)
    row = outbox(operator, "ana@example.com")
    # The mail waits for a corrected SMTP_URL rather than dying with every other queued mail.
    assert row["status"] in ("pending", "sending") and "refused the login (535" in row["last_error"]
    assert row["attempts"] <= 1
    assert "smtp://mailer@127.0.0.1" in row["last_error"] and "SMTP_URL" in row["last_error"]
    for secret in ("s3cr", "czNjci90QHB3"):  # the password, and its base64 in AUTH PLAIN
        assert secret not in caplog.text and secret not in row["last_error"]
    assert "SMTP_URL" in caplog.text and mailbox.delivered == []


# --- A bot killed mid-send -------------------------------------------------------------------------------------------


async def test_a_bot_killed_while_the_server_takes_a_mail_never_sends_it_twice(
    store: Store, operator: Operator, tmp_path: Path
) -> None:
    mailbox, port = Mailbox(), free_port()
    addresses = [f"friend{n}@example.com" for n in range(6)]
    for address in addresses:
        await queue(store, address)
    process: asyncio.subprocess.Process | None = None
    killed = threading.Event()

    def kill_while_taking(arrived: Delivered) -> None:
        # The message is in and the server has not yet said 250: the bot dies not knowing it was accepted.
        if process is not None and arrived.rcpt_tos == [addresses[2]] and not killed.is_set():
            killed.set()
            os.kill(process.pid, signal.SIGKILL)

    mailbox.on_data = kill_while_taking
    log = (tmp_path / "email_dispatcher.log").open("ab")
    command = [sys.executable, str(ROOT / "tests" / "email_dispatcher.py"), operator.url, f"smtp://127.0.0.1:{port}"]
    try:
        async with smtp_server(mailbox, port):
            process = await asyncio.create_subprocess_exec(*command, cwd=ROOT, stdout=log, stderr=log)
            assert await asyncio.wait_for(process.wait(), 30) == -signal.SIGKILL, "the bot was not killed mid-send"
            process = await asyncio.create_subprocess_exec(*command, cwd=ROOT, stdout=log, stderr=log)
            await eventually(lambda: settled(operator), timeout=20)
            process.terminate()
            assert await asyncio.wait_for(process.wait(), 10) == 0
    finally:
        if process is not None and process.returncode is None:
            process.kill()
        log.close()
    received = Counter(address for d in mailbox.delivered for address in d.rcpt_tos)
    assert received == Counter(addresses), (tmp_path / "email_dispatcher.log").read_text()
    cut_short = outbox(operator, addresses[2])
    assert cut_short["status"] == "dead" and "outcome is unknown" in cut_short["last_error"]
    assert all(outbox(operator, address)["status"] == "sent" for address in addresses if address != addresses[2])


# --- The settings and the store ------------------------------------------------------------------------------------


def test_smtp_url_reads_as_an_operator_writes_it() -> None:
    config = SmtpConfig.parse("smtps://mailer%40acme:p/ss#w@rd@smtp.example.com", SENDER)
    assert (config.host, config.port, config.implicit_tls) == ("smtp.example.com", 465, True)
    assert (config.username, config.password) == ("mailer@acme", "p/ss#w@rd")
    assert "p/ss" not in repr(config) and config.where == "smtps://mailer@acme@smtp.example.com:465"
    remote = SmtpConfig.parse("smtp://mailer:pw@smtp.example.com", SENDER)
    assert (remote.port, remote.require_starttls) == (587, True)  # a password never crosses the network in clear
    assert not SmtpConfig.parse("smtp://mailer:pw@127.0.0.1:2525", SENDER).require_starttls
    assert not SmtpConfig.parse("smtp://relay.internal:25", SENDER).require_starttls  # no password to protect
    with pytest.raises(ValueError, match="SMTP_URL") as bad:
        SmtpConfig.parse("smtp://mailer:hunter2@smtp.example.com:submission", SENDER)
    assert "hunter2" not in str(bad.value)
    with pytest.raises(ValueError, match="SMTP_FROM"):
        SmtpConfig.parse("smtp://smtp.example.com", "referrals")


async def test_an_email_attempt_is_begun_once_until_it_is_ended(store: Store) -> None:
    at = SystemClock().now()
    assert await store.begin_email("row-1", at) is True
    assert await store.begin_email("row-1", at) is False  # begun before: its outcome is unknown
    assert await store.begin_email("row-2", at) is True
    await store.end_email_attempt("row-1")  # refused: surely not delivered
    assert await store.begin_email("row-1", at) is True
