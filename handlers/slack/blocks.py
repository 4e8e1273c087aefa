"""Block Kit for the team: the referral alert and the modals behind its buttons."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.program.texts import Texts
from bot.team import speed
from bot.team.alerts import AlertView
from handlers.slack import reward_blocks

Block = dict[str, Any]
ACTIONS = ("claim", "contacted", "converted", "lost", "flag")
# Longest answers a modal takes: a message must fit a Telegram message (4,096) with our framing.
MAX_INPUT = {"converted": 30, "lost": 500, "message": 3900}


SECTION_LIMIT = 3000


def fit(text: str, limit: int = SECTION_LIMIT) -> str:
    """Cut escaped mrkdwn to a Block Kit limit without splitting an entity such as &amp;."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut + "…"


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": fit(text)}}


def _button(label: str, action: str, referral_id: str, style: str | None = None) -> Block:
    button: Block = {
        "type": "button",
        "text": {"type": "plain_text", "text": label[:75], "emoji": True},
        "action_id": f"referral_{action}",
        "value": referral_id,
    }
    if style:
        button["style"] = style
    return button


def alert(view: AlertView, screens: Texts) -> tuple[str, list[Block]]:
    """The alert as it should look now: fallback text and blocks."""
    referral = view.referral
    body = screens.team(
        "alert",
        friend=view.friend_name(screens),
        referrer=view.referrer,
        source_label=screens.team_label(f"slack_source_{referral.source}"),
        segment=screens.team_label(f"segment_{view.referrer.segment}"),
        conversions=view.referrer_conversions,
        flagged=referral.flagged,
        flag_reason=referral.flag_reason,
        contact=view.contact,
        consent=view.consent,
        consent_at=view.consent_at,
    )
    status = _status(view, screens)
    blocks: list[Block] = [_section(body)]
    if referral.friend_note:  # its own section: a long note can never push the rest past the limit
        blocks.append(_section(screens.team("alert_note", referrer=view.referrer, note=referral.friend_note)))
    blocks += [
        {"type": "context", "elements": [{"type": "mrkdwn", "text": fit(screens.team("alert_icp"))}]},
        _section(status),
    ]
    if view.offered_to and view.referral.status == "new":  # routing: one rep has it to accept, not the channel
        blocks.append(_context(screens.team("alert_offer", rep=view.offered_to)))
    if view.is_open:
        blocks.append({"type": "actions", "block_id": f"referral:{referral.id}", "elements": _buttons(view, screens)})
    blocks += reward_blocks.review(referral, screens)  # Approve / Reject held rewards, open or closed
    fallback = screens.team(
        "alert_fallback", friend=view.friend_name(screens), referrer=view.referrer.display_name, status=referral.status
    )
    return fit(fallback), blocks


def _status(view: AlertView, screens: Texts) -> str:
    """Where the referral stands, and how long it has waited in business time (or how long first contact took)."""
    referral = view.referral
    waiting = speed.waiting(referral, view.team_since, view.now, screens.program)
    status = screens.team(
        "alert_status",
        status=referral.status,
        minutes=speed.whole_minutes(waiting.waited) if waiting is not None else 0,  # for a business's own template
        assignee=referral.assignee,
        deal_value=screens.money(referral.deal_value),
        reason=referral.lost_reason,
    )
    return status if waiting is None else f"{status}\n{speed.waiting_line(screens, waiting)}"


def _buttons(view: AlertView, screens: Texts) -> list[Block]:
    referral_id = view.referral.id
    offered = bool(view.offered_to) and view.referral.status == "new"
    actions = [a for a in ACTIONS if not (offered and a == "claim")]  # while offered, only its rep takes it
    buttons = [_button(screens.team_label(f"slack_{a}"), a, referral_id, _style(a)) for a in actions]
    if view.writable:  # a friend known only by a contact the referrer typed cannot be written to from Slack
        buttons.append(_button(screens.team_label("slack_message"), "message", referral_id))
    buttons.append(_button(screens.team_label("slack_script"), "script", referral_id))
    if screens.program.routing.routed:  # managers only: the button's listener is guarded
        buttons.append(_button(screens.team_label("slack_reassign"), "reassign", referral_id))
    return buttons


def _context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": fit(text)}]}


def _style(action: str) -> str | None:
    return {"claim": "primary", "converted": "primary", "flag": "danger"}.get(action)


def modal(screens: Texts, kind: str, referral_id: str, locale: str | None = None) -> Block:
    """converted: an optional deal value; lost: a reason; message: the text for the friend. In `locale`, the
    language of the one person who opens it."""
    titles = {"converted": "slack_converted_title", "lost": "slack_lost_title", "message": "slack_message_title"}
    fields = {"converted": "slack_deal_value", "lost": "slack_lost_reason", "message": "slack_message_text"}
    field: Block = {
        "type": "input",
        "block_id": "answer",
        "optional": kind == "converted",
        "label": {"type": "plain_text", "text": screens.team_label(fields[kind], locale)},
        "element": {
            "type": "plain_text_input",
            "action_id": "value",
            "multiline": kind != "converted",
            "max_length": MAX_INPUT[kind],
        },
    }
    if kind == "converted":
        field["hint"] = {"type": "plain_text", "text": screens.team_label("slack_deal_value_hint", locale)}
    submit = "slack_send" if kind == "message" else "slack_submit"
    return {
        "type": "modal",
        "callback_id": f"referral_{kind}",
        "private_metadata": referral_id,
        "title": {"type": "plain_text", "text": screens.team_label(titles[kind], locale)[:24]},
        "submit": {"type": "plain_text", "text": screens.team_label(submit, locale)[:24]},
        "blocks": [field],
    }


SCRIPT_BLOCK = "call_script"  # the first block of a call script, wherever it is shown
MODAL_BLOCKS = 100  # Block Kit's most in a modal


def script(text: str, screens: Texts, locale: str | None = None) -> list[Block]:
    """A call script as sections, paragraphs kept whole where they fit, so a long script is never cut short."""
    sections: list[str] = []
    for paragraph in (part for part in text.split("\n\n") if part.strip()):
        if sections and len(sections[-1]) + 2 + len(paragraph) <= SECTION_LIMIT:
            sections[-1] += "\n\n" + paragraph
        else:
            sections.append(paragraph)
    # A business's script may render to nothing; Slack refuses an empty section, so say so instead.
    empty = [screens.team_label("slack_script_empty", locale)]
    blocks = [_section(part) for part in sections[:MODAL_BLOCKS] or empty]
    blocks[0]["block_id"] = SCRIPT_BLOCK
    return blocks


def script_modal(screens: Texts, text: str, locale: str | None = None) -> Block:
    """The call script in a modal: it stays on screen while the rep is on the phone, and only they see it."""
    return {
        "type": "modal",
        "callback_id": "referral_script",
        "title": {"type": "plain_text", "text": screens.team_label("slack_script_title", locale)[:24]},
        "close": {"type": "plain_text", "text": screens.team_label("slack_close", locale)[:24]},
        "blocks": script(text, screens, locale),
    }


def digest(views: Sequence[AlertView], screens: Texts) -> tuple[str, list[Block]]:
    """Many waiting referrals in one message: a line and a Claim button each."""
    header = screens.team("digest_header", count=len(views))
    lines: list[Block] = [_section(header)]
    for number, view in enumerate(views):
        line = screens.team(
            "digest_line",
            friend=view.friend_name(screens),
            referrer=view.referrer.display_name,
            source_label=screens.team_label(f"slack_source_{view.referral.source}"),
            flagged=view.referral.flagged,
        )
        section = _section(line)
        button = _button(screens.team_label("slack_claim"), "claim", view.referral.id, "primary")
        button["action_id"] += f"_{number}"  # action ids must differ within one message
        section["accessory"] = button
        lines.append(section)
    return screens.team("digest_fallback", count=len(views)), lines
