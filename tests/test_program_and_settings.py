"""A bad setting or program file stops start-up with one clear line naming the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.errors import ConfigError
from bot.program.rules import load_program
from bot.program.settings import load_settings

from conftest import ROOT

EXAMPLE = (ROOT / "program.example.toml").read_text(encoding="utf-8")
# Where these keys stand in the example, however the sections above them grow.
VELOCITY = EXAMPLE.splitlines().index("velocity_per_hour = 10") + 1
MODEL = EXAMPLE.splitlines().index('model = "first_touch"') + 1


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "program.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_example_program_is_valid() -> None:
    program = load_program(ROOT / "program.example.toml")
    assert program.program.name == "Acme Coffee"
    assert program.ideal_customer.get("es").startswith("Oficinas")
    assert program.ideal_customer.get("de") == program.ideal_customer.en
    assert (program.attribution.model, program.attribution.window_days) == ("first_touch", 30)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("velocity_per_hour = 10", "velocity_per_hour = 0"), f"field limits.velocity_per_hour (line {VELOCITY})"),
        (('model = "first_touch"', 'model = "most_touch"'), f"field attribution.model (line {MODEL})"),
        (('name = "Acme Coffee"', 'name = ""'), "field program.name (line 5)"),
        (("[incentives.referrer]", "[incentives.referer]"), "field incentives.referrer"),
        (("window_days = 30", "window_days = thirty"), "not valid TOML"),
    ],
)
def test_a_bad_program_file_names_the_field_and_line(tmp_path: Path, change: tuple[str, str], message: str) -> None:
    old, new = change
    assert old in EXAMPLE
    with pytest.raises(ConfigError) as caught:
        load_program(write(tmp_path, EXAMPLE.replace(old, new)))
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_segments_own_tiers_out_of_order_are_named_with_their_line(tmp_path: Path) -> None:
    tier = (
        '[[incentives.segments.inner_circle.tiers]]\nconversions = {}\nname = {{ en = "T" }}\nbonus = {{ en = "B" }}\n'
    )
    with pytest.raises(ConfigError) as caught:
        load_program(write(tmp_path, EXAMPLE + "\n" + tier.format(3) + tier.format(2)))
    line = EXAMPLE.count("\n") + 2  # the first of the segment's tiers
    assert str(caught.value).endswith(
        f"field incentives.segments.inner_circle.tiers (line {line}): Value error, tiers must have distinct"
        " conversions, in ascending order"
    )


def test_a_missing_program_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"program file .*nope.toml: cannot be read"):
        load_program(tmp_path / "nope.toml")


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        (
            "TELEGRAM_BOT_TOKEN",
            "not-a-token",
            "setting TELEGRAM_BOT_TOKEN: Value error, expected the form 123456:ABC-DEF from @BotFather",
        ),
        *[
            pytest.param(
                "TELEGRAM_BOT_TOKEN",
                f"{bot_id}:ABC-DEF",
                "setting TELEGRAM_BOT_TOKEN: Value error, expected the form 123456:ABC-DEF from @BotFather",
                id=f"TELEGRAM_BOT_TOKEN-{name}",
            )  # digits to str.isdigit, but no bot id
            for name, bot_id in (("superscript", "²"), ("arabic-digits", "١٢٣٤٥٦"), ("5000-digits", "9" * 5000))
        ],
        (
            "DATABASE_URL",
            "mysql://x",
            "setting DATABASE_URL: Value error, use sqlite:///path/to/file.db or postgresql://user@host:5432/database",
        ),
        ("TELEGRAM_POLL_TIMEOUT", "500", "setting TELEGRAM_POLL_TIMEOUT: Input should be less than or equal to 50"),
        ("SQLITE_SYNCHRONOUS", "OFF", "setting SQLITE_SYNCHRONOUS: Input should be 'FULL', 'EXTRA' or 'NORMAL'"),
    ],
)
def test_a_bad_setting_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as caught:
        load_settings(_env_file=None)
    assert str(caught.value) == message
