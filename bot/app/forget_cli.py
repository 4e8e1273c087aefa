"""`referral-bot forget`: whom to forget (a Telegram user id, an e-mail address or a phone number), erasing them
beside the running bot, and the report an operator reads. The command itself is in operator_cli.py."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import NoReturn

import typer

from bot.app.cli_base import err
from bot.core.validation import Invalid, check_contact
from bot.customers.forget import Forgetting, Forgotten
from bot.program.rules import Program
from bot.program.settings import Settings


@dataclass(frozen=True)
class Target:
    """One person: by Telegram user id, or by a contact as stored (a lower-case address, a number in E.164)."""

    shown: str  # as the report names them
    telegram_id: int | None = None
    contact: str | None = None


def target_of(telegram_user_id: int | None, email: str | None, phone: str | None) -> Target:
    """The person the arguments name; exits with 2 unless exactly one of them is given, and well formed."""
    options = (("a Telegram user id", telegram_user_id), ("--email", email), ("--phone", phone))
    given = [name for name, value in options if value is not None]
    if len(given) != 1:
        named = f"not {' and '.join(given)} together" if given else "none was given"
        _refuse(f"name one person: a Telegram user id, --email ADDRESS or --phone NUMBER ({named})")
    if telegram_user_id is not None:
        return Target(f"Telegram user {telegram_user_id}", telegram_id=telegram_user_id)
    kind, text = ("email", email) if email is not None else ("phone", phone or "")
    contact = check_contact(text)
    if isinstance(contact, Invalid) or contact.kind != kind:
        example = "name@example.com" if kind == "email" else "an international number such as +15550001111"
        _refuse(f"{text[:80]!r} is not {'an e-mail address' if kind == 'email' else 'a phone number'} ({example})")
    noun = "e-mail address" if kind == "email" else "phone number"
    return Target(f"{noun} {contact.value}", contact=contact.value)


def _refuse(problem: str) -> NoReturn:
    err.print(f"referral-bot forget: {problem}", highlight=False)
    raise typer.Exit(2)


def forget_target(settings: Settings, rules: Program, target: Target) -> Forgotten | None:
    """Erase the person in one unit of work; None when nobody is stored under what names them."""
    from bot.app.operator_services import operator_services
    from bot.app.wiring import team_from
    from bot.team.alerts import Alerts

    team = team_from(settings)

    async def main() -> Forgotten | None:
        async with operator_services(settings, rules, links=False) as services:
            forgetting = Forgetting(services.units, Alerts(team) if team else None)
            inbound_id = f"cli:forget:{services.units.clock.now().isoformat()}"
            if target.telegram_id is not None:
                return await forgetting.forget(inbound_id, target.telegram_id)
            assert target.contact is not None
            return await forgetting.forget_contact(inbound_id, target.contact)

    return asyncio.run(main())


def report(target: Target, done: Forgotten | None) -> None:
    if done is None:
        if target.telegram_id is not None:
            nobody = f"no customer with Telegram user id {target.telegram_id}"
        else:
            nobody = f"no customer or referred friend with {target.shown}"
        err.print(f"referral-bot forget: {nobody}", highlight=False)
        raise typer.Exit(1)
    erased = done.erased
    whom = "" if target.telegram_id is not None else " (a customer)" if done.customer else " (a referred friend)"
    typer.echo(f"forgot {target.shown}{whom}")
    typer.echo(f"kept anonymously: {erased.referrals_made} referrals made, {erased.referrals_as_friend} as the friend")
    typer.echo(f"messages: {erased.messages_dropped} unsent dropped, {erased.messages_blanked} sent blanked")
    typer.echo(f"audit events cleaned: {erased.events_cleaned}")
    if not done.scrubbed:
        typer.echo("note: the database was busy; erased data leaves its files at the next checkpoint")
