"""`referral-bot triggers`: the asks of [[asks.triggers]] as an operator sees them. With --dry-run, who would be asked
and when, and how many would be left out and why; without, one pass of what the running bot does every minute."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from bot.app.cli_base import ProgramOption, app, setup

DryRunOption = Annotated[
    bool, typer.Option("--dry-run", help="Only say who would be asked, when, and who would not; change nothing")
]


@app.command()
def triggers(dry_run: DryRunOption = False, program: ProgramOption = None) -> None:
    """Asks at the right moment: after a conversion, a purchase the CRM reports, or on a schedule."""
    from bot.app.operator_services import operator_services
    from bot.engagement.ask_triggers import TriggerSweep
    from bot.engagement.trigger_plan import plan_triggers

    settings, rules = setup(program)

    async def main() -> list[str]:
        async with operator_services(settings, rules, links=not dry_run) as services:
            if dry_run:
                return (await plan_triggers(services.units)).lines(rules.asks)
            asked = await TriggerSweep(services.units).sweep()
        return [f"asked {asked} customer{'' if asked == 1 else 's'} whose trigger was due; the bot sends the requests"]

    typer.echo("\n".join(asyncio.run(main())))
