"""The operator's commands for advocates: `import-advocates FILE.csv` and `ask --segment`, as real processes."""

from __future__ import annotations

import json
from pathlib import Path

from bot.core.engine import Engine
from sandbox.telegram_api import TelegramEmulator

from conftest import ROOT, Operator
from helpers import environment, referral_bot, start

GOOD_AND_BAD = """telegram_id,first_name,last_name,language,segment
1001,Ana,García,es,inner_circle
abc,Bad,,en,customer
1002,Ben,,,partner
1003,,,en,customer
1004,Cy,,de,customer
1005,Dee,,en,vip
1001,Ana,,en,customer
1006,Eve,"Smith, Jr",FA,Past_Customer
1007,Fay,,en,customer,extra
"""


async def run(tmp_path: Path, env: dict[str, str], *args: str) -> tuple[int, str, str]:
    process = await referral_bot(tmp_path, env, *args)
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def csv_file(tmp_path: Path, text: str) -> str:
    path = tmp_path / "advocates.csv"
    path.write_text(text, encoding="utf-8")
    return str(path)


async def test_import_keeps_the_good_lines_and_reports_each_bad_one(tmp_path: Path) -> None:
    env = environment(None, tmp_path)
    code, out, _ = await run(tmp_path, env, "import-advocates", csv_file(tmp_path, GOOD_AND_BAD))
    assert code == 0
    assert out.splitlines() == [
        "Imported 3 advocates: 3 new, 0 updated.",
        "Skipped 6 bad lines:",
        "  line 3: telegram_id 'abc' is not a Telegram user id (a positive whole number)",
        "  line 5: first_name is empty or longer than 64 characters",
        "  line 6: language 'de' is not one we speak (en, es, fa)",
        "  line 7: segment 'vip' is unknown (valid: inner_circle, customer, past_customer, partner, prospect)",
        "  line 8: telegram_id 1001 is already on line 2",
        "  line 10: more fields than the header has columns",
    ]
    rows = Operator(tmp_path / "referrals.db").rows(
        "SELECT telegram_id, first_name, last_name, language, segment, referral_code, variant FROM customers"
        " ORDER BY telegram_id"
    )
    people = [(r["telegram_id"], r["first_name"], r["last_name"], r["language"], r["segment"]) for r in rows]
    assert people == [
        (1001, "Ana", "García", "es", "inner_circle"),
        (1002, "Ben", None, "en", "partner"),
        (1006, "Eve", "Smith, Jr", "fa", "past_customer"),
    ]
    assert all(len(r["referral_code"]) == 12 and r["variant"] for r in rows)


async def test_import_updates_a_customer_who_already_started_the_bot(
    engine: Engine, telegram: TelegramEmulator, operator: Operator, tmp_path: Path
) -> None:
    code, _ = await start(telegram, 1001, "Ana")
    env = environment(telegram, tmp_path, DATABASE_URL=f"sqlite:///{operator.path}")
    csv = csv_file(tmp_path, "first_name,telegram_id,segment,language\nAnita,1001,inner_circle,es\n")
    status, out, _ = await run(tmp_path, env, "import-advocates", csv)
    assert (status, out.strip()) == (0, "Imported 1 advocate: 0 new, 1 updated.")
    (ana,) = operator.rows("SELECT first_name, segment, language, referral_code FROM customers")
    assert ana == {"first_name": "Ana", "segment": "inner_circle", "language": "es", "referral_code": code}
    await telegram.send_command(telegram.user(1001, "Ana"), "start")
    again = (await telegram.wait_for_messages(1001, 2))[1]
    assert again.text.startswith("¡Hola de nuevo, Ana!")  # her language now, and the same link
    assert f"start={code}" in again.text


async def test_a_file_without_the_needed_columns_imports_nothing(tmp_path: Path) -> None:
    env = environment(None, tmp_path)
    csv = csv_file(tmp_path, "telegram_id,name\n1001,Ana\n")
    status, out, err = await run(tmp_path, env, "import-advocates", csv)
    assert (status, out) == (2, "")
    assert err.strip() == (
        f"referral-bot import-advocates: {csv}: the header needs the columns first_name, segment, telegram_id or email"
        " (missing: first_name, segment)"
    )
    assert not (tmp_path / "referrals.db").exists()


async def test_ask_from_the_command_line_reports_and_respects_the_cooldown(
    telegram: TelegramEmulator, tmp_path: Path
) -> None:
    program = tmp_path / "program.toml"  # no quiet hours: this test runs on the wall clock
    example = (ROOT / "program.example.toml").read_text(encoding="utf-8")
    quiet = 'quiet_hours = { start = "21:00", end = "09:00" }'
    program.write_text(example.replace(quiet, 'quiet_hours = { start = "00:00", end = "00:00" }'), encoding="utf-8")
    env = environment(telegram, tmp_path, PROGRAM_FILE=str(program))
    people = "telegram_id,first_name,segment\n1001,Ana,inner_circle\n1002,Ben,inner_circle\n1003,Cy,customer\n"
    await run(tmp_path, env, "import-advocates", csv_file(tmp_path, people))
    dry = await run(tmp_path, env, "ask", "--segment", "inner_circle", "--dry-run")
    assert dry[:2] == (0, "Dry run: nothing was sent or recorded. 2 of 2 in inner_circle would be asked.\n")
    operator = Operator(tmp_path / "referrals.db")
    assert operator.count("asks") == 0
    assert (await run(tmp_path, env, "ask", "--segment", "inner_circle"))[1] == "Asked 2 of 2 in inner_circle.\n"
    again = await run(tmp_path, env, "ask", "--segment", "inner_circle")
    assert again[1].splitlines() == [
        "Asked 0 of 2 in inner_circle.",
        "Not asked: 2",
        "  asked within the last 30 days: 2",
    ]
    queued = operator.rows("SELECT chat_id, payload FROM outbox WHERE platform = 'telegram' ORDER BY chat_id")
    assert [row["chat_id"] for row in queued] == ["1001", "1002"]  # the running bot sends them at its pace
    assert json.loads(queued[0]["payload"])["text"].startswith("Hi Ana! Happy with Acme Coffee?")
    unknown = await run(tmp_path, env, "ask", "--segment", "vip")
    assert unknown[0] == 2
    assert unknown[2].strip() == (
        "referral-bot ask: unknown segment 'vip'; valid segments: inner_circle, customer, past_customer, partner, "
        "prospect"
    )


async def test_ids_that_int_would_refuse_or_misread_are_bad_lines_and_the_rest_is_imported(tmp_path: Path) -> None:
    env = environment(None, tmp_path)
    long_id = "9" * 5000
    lines = ["telegram_id,first_name,segment", "²,Sup,customer", "7²,Mixed,customer", f"{long_id},Long,customer"]
    text = "\n".join([*lines, "1001,Ana,customer", ""])
    code, out, _ = await run(tmp_path, env, "import-advocates", csv_file(tmp_path, text))
    assert code == 0
    assert out.splitlines() == [
        "Imported 1 advocate: 1 new, 0 updated.",
        "Skipped 3 bad lines:",
        "  line 2: telegram_id '²' is not a Telegram user id (a positive whole number)",
        "  line 3: telegram_id '7²' is not a Telegram user id (a positive whole number)",
        f"  line 4: telegram_id '{long_id[:30]}' is not a Telegram user id (a positive whole number)",
    ]
    rows = Operator(tmp_path / "referrals.db").rows("SELECT telegram_id, first_name FROM customers")
    assert rows == [{"telegram_id": 1001, "first_name": "Ana"}]  # no customer 12, nothing half stored


async def test_rows_with_an_email_address_and_no_telegram_id_are_imported_once_and_updated_after(
    tmp_path: Path,
) -> None:
    env = environment(None, tmp_path)
    text = (
        "first_name,segment,email,telegram_id\n"
        "Ana,inner_circle,Ana@Example.com,\n"  # by e-mail only: a record waiting for its Telegram account
        "Ben,customer,not-an-address,\n"
        "Cy,customer,,\n"
        "Dee,partner,ana@example.com,\n"  # the same address, however typed
        "Eve,partner,eve@example.com,1005\n"
    )
    code, out, _ = await run(tmp_path, env, "import-advocates", csv_file(tmp_path, text))
    assert code == 0
    assert out.splitlines() == [
        "Imported 2 advocates: 2 new, 0 updated.",
        "Skipped 3 bad lines:",
        "  line 3: email 'not-an-address' is not an e-mail address",
        "  line 4: needs a telegram_id or an email",
        "  line 5: email ana@example.com is already on line 2",
    ]
    operator = Operator(tmp_path / "referrals.db")
    rows = operator.rows("SELECT telegram_id, first_name, email, segment FROM customers ORDER BY first_name")
    assert [(r["first_name"], r["email"], r["segment"]) for r in rows] == [
        ("Ana", "ana@example.com", "inner_circle"),
        ("Eve", "eve@example.com", "partner"),
    ]
    assert rows[0]["telegram_id"] < 0 and rows[1]["telegram_id"] == 1005  # Ana has no Telegram account yet
    again = csv_file(tmp_path, "first_name,segment,email\nAna,partner,ana@example.com\n")
    assert (await run(tmp_path, env, "import-advocates", again))[1] == "Imported 1 advocate: 0 new, 1 updated.\n"
    assert operator.rows("SELECT segment FROM customers WHERE email = 'ana@example.com'") == [{"segment": "partner"}]
