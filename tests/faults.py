"""For the fault suite: the faults made for real. A PostgreSQL server of the test's own, stopped and started again
(never the machine's shared one); a small file system that fills up; the bot as a process of its own, whose CPU
time is read from /proc; and a census of what the friends and the team received.

These need root (to mount, and to run PostgreSQL's initdb as the postgres user) and Debian's PostgreSQL server
binaries. Without them the tests skip and say why; with REQUIRE_FAULTS=1 or REQUIRE_POSTGRES=1 (both set by CI)
they fail instead, so CI can never pass without them.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
from collections import Counter
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import psycopg
import pytest
from psycopg.rows import dict_row

from sandbox.slack_api import SlackEmulator
from sandbox.telegram_api import TelegramEmulator

from conftest import ALERTS
from crash_feeder import FRIEND_BASE, REFERRER_BASE, friend

# The bot's own send limits, per chat and overall, lifted: at Telegram's real pace 3,000 messages take minutes.
FAST = {
    "TELEGRAM_RATE_PER_SECOND": "2000",
    "TELEGRAM_CHAT_RATE_PER_SECOND": "2000",
    "SLACK_CHANNEL_RATE_PER_SECOND": "2000",
}
SERVER_BINARIES = Path("/usr/lib/postgresql")  # Debian's postgresql-<version> package puts initdb and pg_ctl here
K = TypeVar("K", int, str)
_THANKS = re.compile(r"Thank you, Referrer! Friend (\d+) just joined")


def cannot(reason: str) -> NoReturn:
    """A fault test that cannot run here: a skip on a developer's machine, a failure in CI."""
    if "1" in (os.environ.get("REQUIRE_FAULTS"), os.environ.get("REQUIRE_POSTGRES")):
        pytest.fail(f"{reason}; REQUIRE_FAULTS=1 or REQUIRE_POSTGRES=1 forbids skipping", pytrace=False)
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- PostgreSQL of the test's own ---------------------------------------------------------------------------------


def server_binaries() -> Path | None:
    """The newest installed server's bin folder (initdb, pg_ctl)."""
    found = [path.parent for path in SERVER_BINARIES.glob("*/bin/initdb")]
    return max(found, key=lambda folder: int(folder.parent.name) if folder.parent.name.isdigit() else 0, default=None)


@dataclass
class Cluster:
    """A PostgreSQL cluster in a temporary folder, on a port of its own; its superuser is postgres, trusted."""

    folder: Path
    binaries: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    async def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1"
        await self._pg_ctl("-l", str(self.folder / "server.log"), "-o", options, "-t", "60", "start")

    async def stop(self) -> None:
        """A clean stop, as `systemctl restart postgresql` does: sessions are ended, open transactions roll back."""
        await self._pg_ctl("-m", "fast", "stop")

    async def _pg_ctl(self, *args: str) -> None:
        await asyncio.to_thread(self.run, "pg_ctl", "-D", str(self.folder / "data"), "-w", *args)

    def run(self, program: str, *args: str) -> None:
        """One of the server's programs, as the postgres user when we are root (initdb refuses to run as root)."""
        command = [str(self.binaries / program), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{program} {' '.join(args)} failed ({done.returncode}): {done.stderr or done.stdout}")

    def rows(self, sql: str, *params: Any) -> list[dict[str, Any]]:
        """The database as an operator reads it with psql's library (the tests write SQLite's placeholders)."""
        with psycopg.connect(self.url, row_factory=dict_row, connect_timeout=5) as db:
            return list(db.execute(sql.replace("?", "%s"), params).fetchall())


def _private_folder() -> Path:
    """A folder the postgres user owns, outside pytest's tmp_path (which only root may enter)."""
    folder = Path(tempfile.mkdtemp(prefix="referral-bot-pg-"))
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            shutil.rmtree(folder)
            cannot("no postgres user to run initdb as (Debian's postgresql package makes it)")
        os.chown(folder, owner.pw_uid, owner.pw_gid)
    return folder


@asynccontextmanager
async def private_cluster() -> AsyncIterator[Cluster]:
    """A new cluster, initialised and started; stopped and deleted at the end, however the test ended."""
    binaries = server_binaries()
    if binaries is None:
        cannot(f"no PostgreSQL server binaries under {SERVER_BINARIES} (Debian's postgresql package)")
    cluster = Cluster(_private_folder(), binaries, free_port())
    try:
        try:
            data = str(cluster.folder / "data")
            await asyncio.to_thread(cluster.run, "initdb", "-D", data, "-U", "postgres", "-A", "trust", "--no-sync")
            await cluster.start()
        except (RuntimeError, OSError) as error:
            cannot(f"could not start a private PostgreSQL cluster: {error}")
        yield cluster
    finally:
        if (cluster.folder / "data" / "postmaster.pid").exists():
            with contextlib.suppress(RuntimeError):  # a failure to stop must not hide why the test ended
                await asyncio.to_thread(
                    cluster.run, "pg_ctl", "-D", str(cluster.folder / "data"), "-m", "immediate", "stop"
                )
        shutil.rmtree(cluster.folder, ignore_errors=True)


# --- A small file system ------------------------------------------------------------------------------------------


@contextmanager
def small_disk(size_mib: int) -> Iterator[Path]:
    """A tmpfs of `size_mib` MiB mounted on a temporary folder, unmounted and removed at the end."""
    folder = Path(tempfile.mkdtemp(prefix="referral-bot-disk-"))
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_mib}m,mode=0755", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        folder.rmdir()
        cannot(f"could not mount a {size_mib} MiB tmpfs (root is needed): {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "--lazy", str(folder)], capture_output=True, check=False)
        shutil.rmtree(folder, ignore_errors=True)


def fill(folder: Path) -> Path:
    """Write a file until the file system is full; returns it (delete it to give the space back)."""
    filler = folder / "filler"
    chunk = b"\0" * 4096
    with filler.open("wb", buffering=0) as out:
        try:
            while True:
                out.write(chunk)
        except OSError as error:
            if error.errno != errno.ENOSPC:
                raise
    return filler


# --- The bot's process --------------------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User and system CPU time a running process has used so far (fields 14 and 15 of /proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def healthz(port: int) -> int:
    """The status /healthz answers, as a load balancer's health check reads it (0: no answer at all)."""
    reader, writer = None, None
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 5)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: bot\r\nConnection: close\r\n\r\n")
        status_line = await asyncio.wait_for(reader.readline(), 10)
        return int(status_line.split()[1])
    except (OSError, TimeoutError, IndexError, ValueError):
        return 0
    finally:
        if writer is not None:
            writer.close()


def store_said(log: str) -> list[str]:
    """What the store told the operator about the database's availability, in order: the lines' first words."""
    return [line.split(": ", 2)[1] for line in log.splitlines() if " storage.availability: " in line]


# --- What the people received -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    """How many times each friend was welcomed, thanked for (to their referrer) and alerted to the team."""

    welcomes: Counter[int]
    thanks: Counter[int]
    alerts: Counter[str]  # by referral id: a card of its own or a line of a digest

    @staticmethod
    def count(telegram: TelegramEmulator, slack: SlackEmulator, friends: int, referrers: int) -> Received:
        welcomes: Counter[int] = Counter()
        for i in range(friends):
            welcomes[i] = sum(m.text.startswith("Welcome to Acme Coffee") for m in telegram.messages(FRIEND_BASE + i))
        thanks: Counter[int] = Counter()
        for j in range(referrers):
            for message in telegram.messages(REFERRER_BASE + j):
                if (match := _THANKS.match(message.text)) is not None:
                    thanks[int(match.group(1))] += 1
        alerts = Counter(
            str(button["value"])
            for post in slack.messages(ALERTS)
            for button in post.buttons()
            if str(button.get("action_id", "")).startswith("referral_claim")  # a card's, or a digest line's _<n>
        )
        return Received(welcomes, thanks, alerts)

    def problems(self, friends: int, referral_ids: set[str]) -> list[str]:
        """Every message missing or repeated, said in a few words each."""
        everyone = list(range(friends))
        return [
            *gaps("welcomes", self.welcomes, everyone),
            *gaps("thank-yous", self.thanks, everyone),
            *gaps("alerts", self.alerts, sorted(referral_ids)),
        ]


def gaps(what: str, received: Counter[K], expected: Sequence[K]) -> list[str]:
    """How many of `expected` received nothing, and how many more than once."""
    missing: list[K] = [key for key in expected if received[key] == 0]
    repeated: list[K] = [key for key in expected if received[key] > 1]
    found = [f"{len(missing)} {what} missing (first {missing[:3]})"] if missing else []
    return found + ([f"{len(repeated)} {what} repeated (first {repeated[:3]})"] if repeated else [])


async def arrive(telegram: TelegramEmulator, codes: list[str], first: int, count: int) -> None:
    """Friends `first`… open their referrer's link (friend i is referred by referrer i mod len(codes))."""
    for i in range(first, first + count):
        await telegram.open_deep_link(friend(telegram, i), codes[i % len(codes)])
