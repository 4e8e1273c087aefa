"""The e-mail templates in every locale: each English file and label has its Spanish and Persian twin, and each
e-mail renders through the real Renderer with the direction of its language, the unsubscribe link only when there
is one, a customer's name escaped in the HTML part and as typed in the text part, and Persian words intact."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from markupsafe import escape

from bot.core.models import Customer
from bot.delivery.mail import plain
from messages.renderer import BUILT_IN, LOCALES, Renderer

OTHER_LOCALES = [locale for locale in LOCALES if locale != "en"]
ENGLISH_EMAIL = BUILT_IN / "en" / "email"
EMAILS = sorted({path.stem for path in ENGLISH_EMAIL.iterdir() if path.stem != "base"})
# Keys the e-mail work added to labels.toml: a missing one falls back to English without a word of warning.
EMAIL_LABELS = [f"email_subject_{name}" for name in EMAILS] + ["web_link", "web_qr"]

HOSTILE = "<script>alert(1)</script>"
PROGRAM = "Café Luna"
UNSUBSCRIBE_URL = "https://refer.example.com/unsubscribe/Zq3vT0k-8yWm"
TELEGRAM_URL = "https://t.me/cafe_luna_bot?start=adv_Zq3vT0k8"
WEB_LINK = "https://refer.example.com/r/maya-4821"
# The footer's unsubscribe words: the footer is translated, not left in English.
UNSUBSCRIBE_WORDS = {"en": "Unsubscribe", "es": "de baja", "fa": "لغو اشتراک"}
# What Texts._common gives every template, in each locale's own words (the Persian ones with a zero-width
# non-joiner, which must come out as it went in).
COMMON: dict[str, dict[str, Any]] = {
    "en": {
        "ideal_customer": "People who love freshly roasted coffee & a quiet corner to work in",
        "friend_incentive": "20% off their first order",
        "referrer_reward": "a free bag of coffee",
    },
    "es": {
        "ideal_customer": "Quienes disfrutan del café recién tostado y de un rincón tranquilo para trabajar",
        "friend_incentive": "un 20 % de descuento en el primer pedido",
        "referrer_reward": "una bolsa de café gratis",
    },
    "fa": {
        "ideal_customer": "کسانی که قهوهٔ تازه‌برشته و گوشه‌ای دنج برای کار را دوست دارند",
        "friend_incentive": "۲۰٪ تخفیف روی اولین سفارش",
        "referrer_reward": "یک بسته قهوهٔ رایگان",
    },
}
TEAM_TEXT = {
    "en": "Hello again! We have a table for you on Friday at 10.\nJust tell us if that suits you.",
    "es": "¡Hola de nuevo! Tenemos una mesa para ti el viernes a las 10.\nDinos si te viene bien.",
    "fa": "دوباره سلام! جمعه ساعت ۱۰ یک میز برایتان نگه داشته‌ایم.\nاگر برایتان مناسب است، خبرمان کنید.",
}


def advocate(locale: str, first_name: str) -> Customer:
    """An advocate the business imported with an e-mail address, who has not started the bot yet."""
    moment = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)
    return Customer(
        telegram_id=-41,
        first_name=first_name,
        last_name=None,
        username=None,
        language=locale,
        segment="past_customer",
        referral_code="maya-4821",
        variant="a",
        created_at=moment,
        updated_at=moment,
        email="maya@example.com",
    )


def context_for(renderer: Renderer, locale: str, name: str, unsubscribe_url: str | None) -> dict[str, Any]:
    """What bot/delivery/mail.py and bot/customers/landing.py pass each e-mail, with HOSTILE as the person's name."""
    common = {"program": PROGRAM, "has_kit": False, **COMMON[locale]}
    reward = common["referrer_reward"]
    context: dict[str, Any]
    if name == "friend_welcome":
        referrer = advocate(locale, HOSTILE)
        context = {"friend_name": HOSTILE, "referrer": referrer, "referrer_name": referrer.first_name}
        context |= {"telegram_url": TELEGRAM_URL}
    elif name == "notice":  # a Telegram message to someone who is not on Telegram: its HTML and its plain words
        customer = advocate(locale, "Maya")
        telegram = renderer.telegram(
            locale, "referrer_thanks", customer=customer, friend_name=HOSTILE, held=False, **common
        )
        context = {"customer": customer, "message_html": telegram, "message_text": plain(telegram)}
        context |= {"links": [TELEGRAM_URL, WEB_LINK]}
    elif name == "advocate_ask":
        context = {"customer": advocate(locale, HOSTILE), "pitch": None, "telegram_url": TELEGRAM_URL}
        context |= {"expires_on": "2025-04-13", "web_link": WEB_LINK, "referrer_reward": reward}
    elif name == "team_message":
        context = {"friend_name": HOSTILE, "text": TEAM_TEXT[locale]}
    else:
        raise AssertionError(f"no context for the e-mail {name!r}: add one here")
    return {**common, **context, "unsubscribe_url": unsubscribe_url}


# The words each e-mail shows from its context, which must reach both parts unchanged.
SHOWN = {
    "friend_welcome": ["friend_incentive"],
    "notice": ["referrer_reward"],
    "advocate_ask": ["ideal_customer", "friend_incentive", "referrer_reward"],
    "team_message": [],
}


def labels(locale: str) -> dict[str, Any]:
    with (BUILT_IN / locale / "labels.toml").open("rb") as handle:
        return tomllib.load(handle)


def files_under(folder: Path) -> set[str]:
    return {path.relative_to(folder).as_posix() for path in folder.rglob("*") if path.is_file()}


@pytest.mark.parametrize("locale", OTHER_LOCALES)
def test_every_english_email_file_has_its_translation(locale: str) -> None:
    translated = files_under(BUILT_IN / locale / "email")
    english = files_under(ENGLISH_EMAIL)
    assert sorted(english - translated) == [], f"{locale}/email lacks these (English is sent instead)"
    assert sorted(translated - english) == [], f"{locale}/email has files English does not"


@pytest.mark.parametrize("locale", OTHER_LOCALES)
def test_email_labels_are_translated(locale: str) -> None:
    english, translated = labels("en"), labels(locale)
    assert [key for key in EMAIL_LABELS if key not in english] == []
    assert [key for key in EMAIL_LABELS if key not in translated] == []
    assert [key for key in EMAIL_LABELS if translated[key] == english[key]] == [], "left in English"


@pytest.mark.parametrize("locale", OTHER_LOCALES)
def test_no_label_english_lacks(locale: str) -> None:
    """A key English lacks is a misspelt one: the translation is never shown."""
    english = labels("en")
    assert [key for key in labels(locale) if key not in english] == []


@pytest.mark.parametrize("name", EMAILS)
@pytest.mark.parametrize("locale", LOCALES)
def test_email_renders(locale: str, name: str) -> None:
    renderer = Renderer()
    html, text = renderer.email(locale, name, **context_for(renderer, locale, name, UNSUBSCRIBE_URL))
    subject = renderer.label(locale, f"email_subject_{name}", program=PROGRAM)

    assert PROGRAM in subject
    assert html.startswith("<!DOCTYPE html>")
    direction = "rtl" if locale == "fa" else "ltr"
    assert f'<html lang="{locale}" dir="{direction}">' in html
    if locale != "fa":
        assert 'dir="rtl"' not in html

    assert f'href="{UNSUBSCRIBE_URL}"' in html
    assert UNSUBSCRIBE_URL in text
    assert UNSUBSCRIBE_WORDS[locale] in html
    assert UNSUBSCRIBE_WORDS[locale] in text
    if locale != "en":
        assert UNSUBSCRIBE_WORDS["en"] not in html + text, "the footer is left in English"

    if name == "notice":  # message_html is Telegram's HTML, already escaped: it goes in as it is
        assert "<b>" in html and "&amp;lt;" not in html, "the Telegram message's HTML is escaped a second time"
    assert HOSTILE not in html
    assert str(escape(HOSTILE)) in html
    assert HOSTILE in text
    assert "&lt;" not in text and "&amp;" not in text and "<p" not in text

    for key in SHOWN[name]:
        value = COMMON[locale][key]
        assert value in text
        assert str(escape(value)) in html
    if name == "team_message":
        assert TEAM_TEXT[locale] in text
        assert TEAM_TEXT[locale] in html


@pytest.mark.parametrize("name", EMAILS)
@pytest.mark.parametrize("locale", LOCALES)
def test_email_without_unsubscribe_link_has_no_footer(locale: str, name: str) -> None:
    renderer = Renderer()
    html, text = renderer.email(locale, name, **context_for(renderer, locale, name, None))
    assert "/unsubscribe/" not in html + text
    assert UNSUBSCRIBE_WORDS[locale] not in html
    assert UNSUBSCRIBE_WORDS[locale] not in text
    assert "\n--\n" not in text


def test_persian_survives() -> None:
    """Persian words, their zero-width non-joiners included, reach both parts as they are, not as entities."""
    renderer = Renderer()
    html, text = renderer.email("fa", "advocate_ask", **context_for(renderer, "fa", "advocate_ask", UNSUBSCRIBE_URL))
    fit = COMMON["fa"]["ideal_customer"]
    assert "\u200c" in fit
    for part in (html, text):
        assert fit in part
        assert "چه کسانی برای ما عالی‌اند" in part
        assert "لغو اشتراک" in part
        assert "&#" not in part
    assert "کسی را می‌شناسید" in renderer.label("fa", "email_subject_advocate_ask", program=PROGRAM)
