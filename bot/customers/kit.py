"""The referral kit (playbook step 9): /kit shows what customers can share besides their link, and each item goes
into any chat as an inline card carrying the customer's own link. Shares are counted per item."""

from __future__ import annotations

from bot.core.models import ChatUser
from bot.core.unit_of_work import Units
from bot.program.kit_screens import RESULT_PREFIX, KitCard, KitScreens, file_payload, wanted

SHARE_CHANNEL = "kit"  # share_events.channel of a kit card sent into a chat; its detail is the item's title


class KitService:
    def __init__(self, units: Units) -> None:
        self._units = units
        self._screens = KitScreens(units.screens)

    async def show(self, inbound_id: str, user: ChatUser) -> bool:
        """/kit and the welcome's Kit button: the list, then each item's file in the customer's own chat."""
        async with self._units.once(inbound_id) as w:
            if w is None:
                return False
            customer = await self._units.customer(w, user)
            for message, file in self._screens.listing(customer):
                if file is None:
                    await w.send(message)
                else:  # a row of its own kind: its sender uploads the file once, then sends it by file_id
                    await w.post("telegram", str(message.chat_id), file_payload(message, file))
        return True

    def is_kit_query(self, query: str) -> bool:
        kit = self._units.program.kit
        return bool(kit) and wanted(query, len(kit)) is not None  # without a kit, "kit" is any other query

    async def cards(self, user: ChatUser, query: str) -> list[KitCard] | None:
        """The cards an inline query asks for ("kit 2", or "kit" for all); None for someone who has not started
        the bot, who has no link to share yet."""
        async with self._units.store.reading() as tx:
            customer = await tx.customer(user.id)
        numbers = wanted(query, len(self._units.program.kit)) or []
        if customer is None:
            return None
        # Files not uploaded yet (nobody has opened /kit since they were added) go as text cards until they are.
        file_ids = await self._units.store.kit_files() if numbers else {}
        return self._screens.cards(customer, numbers, file_ids)

    @staticmethod
    def is_kit_result(result_id: str) -> bool:
        return result_id.startswith(RESULT_PREFIX)

    async def shared(self, inbound_id: str, user: ChatUser, result_id: str) -> bool:
        """A customer sent a kit card into a chat: one share of that item."""
        async with self._units.once(inbound_id) as w:
            if w is None:
                return False
            item = self._screens.item_named(result_id)
            if await w.tx.customer(user.id) is not None:
                detail = item.title.en if item is not None else result_id  # an item since removed: its number
                await w.tx.insert_share_event(user.id, SHARE_CHANNEL, detail[:64], w.now)
        return True
