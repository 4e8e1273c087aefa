"""The callback-data codec: today's wire format, frozen so buttons already in customers' chats keep working after an
upgrade; every kind survives a round trip; nothing packed is ever too long for Telegram; and data this version never
sends parses to nothing."""

from __future__ import annotations

import secrets
from typing import get_args

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core import buttons
from bot.core.buttons import (
    MAX_BYTES,
    AskLater,
    AskStop,
    ButtonData,
    ButtonDataError,
    DirectChoice,
    ForgetChoice,
    FriendConsent,
    Language,
    MyReferrals,
    NpsScore,
    NpsSkip,
    ReferFriend,
    ResumeAsks,
    ShowKit,
    ShowQr,
    ShowWebQr,
    SurveySkip,
    pack,
    parse,
)
from messages import LOCALES

# The strings the bot sent before the codec existed, character for character.
WIRE: list[tuple[ButtonData, str]] = [
    (ShowQr(), "qr"),
    (ShowWebQr(), "qrw"),
    (MyReferrals(), "mine"),
    (ShowKit(), "kit"),
    (ReferFriend(), "refer"),
    (ResumeAsks(), "resume"),
    (AskLater(), "ask:later"),
    (AskStop(), "ask:stop"),
    (Language("es"), "lang:es"),
    (NpsScore("0f1e2d3c4b5a6978", 0), "nps:0f1e2d3c4b5a6978:0"),
    (NpsScore("0f1e2d3c4b5a6978", 10), "nps:0f1e2d3c4b5a6978:10"),
    (NpsSkip(), "nps:skip"),
    (SurveySkip(), "survey:skip"),
    (DirectChoice("skip"), "d:skip"),
    (DirectChoice("yes"), "d:yes"),
    (DirectChoice("no"), "d:no"),
    (ForgetChoice("yes"), "forget:yes"),
    (ForgetChoice("no"), "forget:no"),
    (FriendConsent("yes"), "fc:yes"),
    (FriendConsent("no"), "fc:no"),
]


@pytest.mark.parametrize(("data", "wire"), WIRE, ids=[wire for _, wire in WIRE])
def test_each_kind_packs_to_the_format_already_in_customers_chats(data: ButtonData, wire: str) -> None:
    assert pack(data) == wire
    assert parse(wire) == data


def test_every_kind_is_covered_by_the_wire_table() -> None:
    assert {type(data) for data, _ in WIRE} == set(get_args(ButtonData))


ids = st.text(st.characters(exclude_characters=":", exclude_categories=["Cs"]), min_size=1, max_size=20)
kinds: st.SearchStrategy[ButtonData] = st.one_of(
    st.sampled_from([ShowQr(), MyReferrals(), ShowKit(), ReferFriend(), ResumeAsks(), AskLater(), AskStop()]),
    st.sampled_from([NpsSkip(), SurveySkip()]),
    st.builds(Language, ids),
    st.builds(NpsScore, ids, st.integers(0, 10)),
    st.builds(DirectChoice, st.sampled_from(get_args(buttons.DirectChoiceValue))),
    st.builds(ForgetChoice, st.sampled_from(get_args(buttons.ForgetChoiceValue))),
    st.builds(FriendConsent, st.sampled_from(get_args(buttons.FriendConsentValue))),
)


@given(kinds)
def test_what_is_packed_parses_back_to_the_same_button(data: ButtonData) -> None:
    try:
        packed = pack(data)
    except ButtonDataError as error:  # only ever for ids too long to send
        assert "Telegram allows at most 64" in str(error)
        return
    assert len(packed.encode()) <= MAX_BYTES
    assert parse(packed) == data


def test_the_longest_real_ids_fit_in_64_bytes() -> None:
    question_id = secrets.token_hex(8)  # what bot/engagement/nps.py makes
    longest = [NpsScore(question_id, 10), *(Language(code) for code in LOCALES), *(data for data, _ in WIRE)]
    assert max(len(pack(data).encode()) for data in longest) <= MAX_BYTES


def test_packing_data_telegram_would_refuse_fails_loudly() -> None:
    with pytest.raises(ButtonDataError, match="is 65 bytes; Telegram allows at most 64"):
        pack(NpsScore("q" * 58, 10))  # "nps:" + 58 + ":10" = 65 bytes
    with pytest.raises(ButtonDataError, match="64"):
        pack(Language("é" * 30))  # 30 characters, but 65 bytes in UTF-8
    with pytest.raises(ButtonDataError, match="0 to 10"):
        pack(NpsScore("q1", 11))
    with pytest.raises(ButtonDataError, match="':'"):
        pack(NpsScore("a:b", 1))


@pytest.mark.parametrize(
    "wire",
    ["", "x", "QR", "qr ", "lang:", "lang:a:b", "nps:", "nps:q1", "nps::5", "nps:q1:11", "nps:q1:-1", "nps:q1:five",
     "nps:a:b:5", "nps:q1:٣", "nps:q1:²", "survey:later", "d:maybe", "d:", "forget:", "forget:YES",
     "ask:", "c:1", pytest.param("nps:q1:" + "9" * 5000, id="nps:q1:<5000 digits>")],
)  # fmt: skip
def test_data_this_version_never_sends_parses_to_nothing(wire: str) -> None:
    assert parse(wire) is None
