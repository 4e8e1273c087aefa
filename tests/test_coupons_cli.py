"""`referral-bot import-coupons POOL FILE` as an operator runs it: a real process on the bot's database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.core.clock import FakeClock
from bot.program.rules import Program
from bot.program.sections import RewardRule
from sandbox.slack_api import SlackEmulator
from sandbox.telegram_api import TelegramEmulator

from conftest import Operator, team_bot
from helpers import environment, referral_bot, said, start, with_incentives


async def import_coupons(tmp_path: Path, pool: str, text: str) -> tuple[int, list[str], str]:
    codes = tmp_path / "codes.csv"
    codes.write_text(text, encoding="utf-8")
    process = await referral_bot(tmp_path, environment(None, tmp_path), "import-coupons", pool, str(codes))
    out, err = await process.communicate()
    return process.returncode or 0, out.decode().splitlines(), err.decode()


async def test_a_csv_is_imported_and_bad_or_repeated_lines_are_reported_by_number(
    tmp_path: Path, operator: Operator
) -> None:
    text = "code,note\nSPRING-001,first\n\nno spaces please,x\nSPRING-002,\nSPRING-001,again\nab,too short\n"
    status, out, _ = await import_coupons(tmp_path, "spring", text)
    assert status == 0
    assert out == [
        "skipped line 4: 'no spaces please' is not a code (3 to 64 letters, digits, '-', '_' or '.')",
        "skipped line 6: 'SPRING-001' repeats line 2",
        "skipped line 7: 'ab' is not a code (3 to 64 letters, digits, '-', '_' or '.')",
        "imported 2 codes into spring; 2 available",
        "note: no coupon reward in the program uses the pool 'spring'",
    ]
    assert operator.rows("SELECT code, status FROM coupon_codes ORDER BY code") == [
        {"code": "SPRING-001", "status": "available"},
        {"code": "SPRING-002", "status": "available"},
    ]
    _, again, _ = await import_coupons(tmp_path, "spring", "SPRING-002\nSPRING-003\n")
    assert again[:2] == [
        "skipped line 1: 'SPRING-002' is already in the pool",
        "imported 1 code into spring; 3 available",
    ]


async def test_a_bad_pool_name_or_missing_file_stops_with_one_line(tmp_path: Path, operator: Operator) -> None:
    status, out, err = await import_coupons(tmp_path, "no good", "CODE-1\n")
    assert (status, out) == (2, [])
    assert "'no good' is not a pool name" in err
    process = await referral_bot(tmp_path, environment(None, tmp_path), "import-coupons", "spring", "missing.csv")
    _, err_bytes = await process.communicate()
    assert process.returncode == 2
    assert "missing.csv: No such file or directory" in err_bytes.decode()


async def test_imported_codes_go_at_once_to_rewards_that_waited_for_one(
    telegram: TelegramEmulator,
    slack: SlackEmulator,
    program: Program,
    operator: Operator,
    tmp_path: Path,
) -> None:
    clock = FakeClock(datetime.now(UTC))  # the command runs on real time: the bot's clock starts there too
    coupon = RewardRule(en="a welcome coupon", kind="coupon", pool="welcome", earned_on="arrival")
    async with team_bot(telegram, slack, with_incentives(program, friend=coupon), clock, operator.path):
        code, _ = await start(telegram, 1001, "Ana")
        await telegram.open_deep_link(telegram.user(2001, "Ben"), code)
        assert "Your code is on its way" in await said(telegram, 2001, "confirmed")
        _, out, _ = await import_coupons(tmp_path, "welcome", "WELCOME-1\nWELCOME-2\n")
        assert out[:2] == ["imported 2 codes into welcome; 1 available", "1 waiting reward got a code"]
        clock.advance(timedelta(minutes=1))  # past the moment the command queued the message
        assert await said(telegram, 2001, "Your code:") == (
            "🎁 Ben, here is your reward: a welcome coupon\nYour code: WELCOME-1"
        )
        assert operator.rows("SELECT status, code FROM rewards WHERE role = 'friend'") == [
            {"status": "issued", "code": "WELCOME-1"}
        ]
