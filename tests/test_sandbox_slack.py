"""The Slack emulator, driven by the real slack-sdk Web API client and a real bolt app over loopback HTTP."""

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import ClientSession, WSMsgType, WSServerHandshakeError, web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from sandbox.slack_api import SlackEmulator
from sandbox.slack_people import Delivery

BOT_TOKEN, APP_TOKEN, SECRET = "xoxb-test", "xapp-test", "test-secret"


def button(label: str, action_id: str, value: str = "v") -> dict[str, Any]:
    return {"type": "button", "text": {"type": "plain_text", "text": label}, "action_id": action_id, "value": value}


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def actions(*elements: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"type": "actions", "elements": list(elements)}]


def modal(title: str = "Refer a friend") -> dict[str, Any]:
    field = {"type": "input", "block_id": "friend", "label": {"type": "plain_text", "text": "Friend's name"}}
    return {"type": "modal", "callback_id": "refer", "title": {"type": "plain_text", "text": title},
            "blocks": [field | {"element": {"type": "plain_text_input", "action_id": "name"}}]}  # fmt: skip


async def refused(call: Any) -> SlackApiError:
    with pytest.raises(SlackApiError) as failure:
        await call
    return failure.value


@pytest.fixture
async def emu() -> AsyncIterator[SlackEmulator]:
    async with SlackEmulator(BOT_TOKEN, APP_TOKEN, SECRET, team_id="T0001", bot_user_id="UBOT") as emulator:
        emulator.add_user("U1", "rita", real_name="Rita Rep")
        emulator.add_user("U2", "mo", real_name="Mo Manager")
        emulator.add_user("U3", "outsider")
        emulator.add_channel("C1", "referrals", members={"U1", "U2"}, bot_member=True)
        emulator.add_channel("C2", "random", members={"U1"}, bot_member=False)
        yield emulator


@pytest.fixture
def client(emu: SlackEmulator) -> AsyncWebClient:
    return AsyncWebClient(BOT_TOKEN, base_url=emu.api_url)


@pytest.fixture
async def app(emu: SlackEmulator, client: AsyncWebClient) -> AsyncIterator[AsyncApp]:
    """A bolt app in HTTP mode, served at /slack/events the way handlers/slack serves it."""
    bolt = AsyncApp(client=client, signing_secret=SECRET)

    async def events(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))

    server = web.Application()
    server.router.add_post("/slack/events", events)
    runner = web.AppRunner(server, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    emu.bot_endpoint = f"http://127.0.0.1:{runner.addresses[0][1]}/slack/events"
    yield bolt
    await runner.cleanup()


async def test_messages_threads_and_updates(emu: SlackEmulator, client: AsyncWebClient) -> None:
    blocks = [section("*Ben* via Ana"), *actions(button("Claim", "claim", "ref-1"))]
    alert = await client.chat_postMessage(channel="C1", text="Referral: Ben", blocks=blocks)
    later = await client.chat_postMessage(channel="#referrals", text="Referral: Cy", mrkdwn=True)
    assert (alert["channel"], alert["message"]["text"], alert["ts"] < later["ts"]) == ("C1", "Referral: Ben", True)
    await client.chat_postMessage(channel="C1", text="SLA missed", thread_ts=alert["ts"])
    await client.chat_postMessage(channel="C1", text="Escalated", thread_ts=alert["ts"], reply_broadcast=True)
    replies = await emu.wait_for_messages("C1", 2, thread_ts=alert["ts"])
    assert [(m.text, m.thread_ts) for m in replies] == [("SLA missed", alert["ts"]), ("Escalated", alert["ts"])]
    await client.chat_update(channel="C1", ts=alert["ts"], text="Claimed by Rita", blocks=[section("*Ben* — Rita")])
    updated, cy, escalated = emu.messages("C1")  # a broadcast reply also shows in the channel
    assert (updated.ts, updated.edits, updated.history, updated.user) == (alert["ts"], 1, ["Referral: Ben"], "UBOT")
    assert (updated.plain(), updated.buttons(), cy.text, escalated.text) == (
        "Claimed by Rita\n*Ben* — Rita", [], "Referral: Cy", "Escalated"
    )  # fmt: skip
    missing = await refused(client.chat_postMessage(channel="C1", text="lost", thread_ts="1.000001"))
    gone = await refused(client.chat_update(channel="C1", ts="1700000000.000001", text="x"))
    assert (missing.response["error"], gone.response["error"]) == ("thread_not_found", "message_not_found")


@pytest.mark.parametrize(("blocks", "error"), [
    ([section(f"line {i}") for i in range(51)], "no more than 50 items allowed [json-pointer:/blocks]"),
    (actions(button("x" * 80, "a")), "must be less than 76 characters [json-pointer:/blocks/0/elements/0/text/text]"),
    (actions(*[button("Yes", "a")] * 2), "duplicate action_id: a [json-pointer:/blocks/0/elements/1/action_id]"),
], ids=["51 blocks", "80-char button label", "duplicate action_id"])  # fmt: skip
async def test_invalid_blocks_are_refused(
    emu: SlackEmulator, client: AsyncWebClient, blocks: list[dict[str, Any]], error: str
) -> None:
    refusal = (await refused(client.chat_postMessage(channel="C1", text="alert", blocks=blocks))).response
    assert (refusal["error"], refusal["errors"], emu.messages("C1")) == ("invalid_blocks", [error], [])


async def test_who_may_post_where(emu: SlackEmulator, client: AsyncWebClient) -> None:
    for channel, error in [("C404", "channel_not_found"), ("C2", "not_in_channel")]:
        assert (await refused(client.chat_postMessage(channel=channel, text="hi"))).response["error"] == error
    no_text = await refused(client.api_call("chat.postMessage", json={"channel": "C1"}))  # chat_postMessage would warn
    assert no_text.response["error"] == "no_text"
    wrong = await refused(AsyncWebClient("xoxb-wrong", base_url=emu.api_url).auth_test())
    assert (wrong.response.status_code, wrong.response["error"]) == (200, "invalid_auth")
    app_token = await refused(AsyncWebClient(APP_TOKEN, base_url=emu.api_url).chat_postMessage(channel="C1", text="x"))
    assert app_token.response["error"] == "not_allowed_token_type"
    me = await client.auth_test()  # bolt reads the bot's ids from here
    assert (me["user_id"], me["bot_id"], me["team_id"], emu.messages("C1")) == ("UBOT", "B0001", "T0001", [])
    assert [c.error for c in emu.calls][:3] == ["channel_not_found", "not_in_channel", "no_text"]


async def test_rate_limits_answer_429_with_retry_after(emu: SlackEmulator, client: AsyncWebClient) -> None:
    emu.add_channel("C3", "managers", members={"U2"})  # another channel, with a budget of its own
    emu.limit_channel_rate(per_second=4.0, burst=1)
    await client.chat_postMessage(channel="C1", text="first")
    limited = await refused(client.chat_postMessage(channel="C1", text="too fast"))
    assert (limited.response.status_code, limited.response.headers["Retry-After"]) == (429, "1")
    assert limited.response["error"] == "ratelimited"
    await client.chat_postMessage(channel="C3", text="meanwhile")
    await asyncio.sleep(0.3)
    await client.chat_postMessage(channel="C1", text="after waiting")
    assert [m.text for m in emu.messages("C1")] == ["first", "after waiting"]
    emu.fail_next("chat.postMessage", "fatal_error", status=500)
    emu.fail_with_429(retry_after=7, for_seconds=0.3, methods={"chat.update"})
    assert (await refused(client.chat_postMessage(channel="C3", text="x"))).response.status_code == 500
    update = client.chat_update(channel="C1", ts=emu.messages("C1")[0].ts, text="edited")
    assert (await refused(update)).response.headers["Retry-After"] == "7"
    assert [c.status for c in emu.calls] == [200, 429, 200, 200, 500, 429]


async def test_dms_files_people_and_ephemerals(emu: SlackEmulator, client: AsyncWebClient) -> None:
    dm_id = (await client.conversations_open(users="U2"))["channel"]["id"]
    assert dm_id.startswith("D") and (await client.conversations_open(users="U2"))["channel"]["id"] == dm_id
    await client.chat_postMessage(channel=dm_id, text="Your weekly export")
    content = b"referrer,friend,status\r\nAna,Ben,converted\r\n"
    done = await client.files_upload_v2(channel=dm_id, content=content, filename="referrals.csv", title="Referrals")
    await client.chat_postMessage(channel="U2", text="A user id lands in the same DM")
    (shared,) = emu.files(dm_id)
    assert (shared.name, shared.title, shared.content) == ("referrals.csv", "Referrals", content)
    assert done["file"]["id"] == shared.id  # and, as in Slack, the share is a message carrying the file:
    assert [(m.text, m.files) for m in emu.dm("U2")] == [
        ("Your weekly export", []), ("", [shared.id]), ("A user id lands in the same DM", [])
    ]  # fmt: skip
    assert emu.dm("U1") == [] and "files.completeUploadExternal" in [c.method for c in emu.calls]
    rita = (await client.users_info(user="U1"))["user"]
    assert (rita["name"], rita["real_name"]) == ("rita", "Rita Rep")
    assert (await refused(client.users_info(user="U404"))).response["error"] == "user_not_found"
    await client.chat_postEphemeral(channel="C1", user="U1", text="Only you can see this")
    outsider = await refused(client.chat_postEphemeral(channel="C1", user="U3", text="nope"))
    assert outsider.response["error"] == "user_not_in_channel"
    assert [m.text for m in emu.ephemerals("U1")] == ["Only you can see this"]
    assert emu.ephemerals("U2") == emu.messages("C1") == []  # nobody else sees it


async def test_views_open_needs_a_fresh_issued_trigger(emu: SlackEmulator, client: AsyncWebClient) -> None:
    trigger = emu.issue_trigger("U1")
    opened = await client.views_open(trigger_id=trigger, view=modal())
    (seen,) = emu.views("U1")
    assert (seen["id"], seen["title"]["text"]) == (opened["view"]["id"], "Refer a friend")
    for bad, error in [(trigger, "exchanged_trigger_id"), ("12345.98765.abcd", "invalid_trigger_id")]:
        assert (await refused(client.views_open(trigger_id=bad, view=modal()))).response["error"] == error
    too_long = client.views_open(trigger_id=emu.issue_trigger("U1"), view=modal(title="A title far too long for it"))
    assert (await refused(too_long)).response["error"] == "invalid_arguments"
    assert len(emu.views("U1")) == 1


async def test_a_signed_slash_command_reaches_bolt_and_respond_is_seen(emu: SlackEmulator, app: AsyncApp) -> None:
    seen: list[dict[str, Any]] = []

    @app.command("/referrals")
    async def referrals(ack: Any, command: dict[str, Any], respond: Any) -> None:
        await ack()
        seen.append(command)
        await respond(f"Stats for {command['text']}: 3 referrals")

    assert (await emu.slash_command("U1", "/referrals", "stats 7d", channel_id="C1")).status == 200
    await emu.wait_for(lambda: len(emu.ephemerals("U1")) == 1, what="the ephemeral reply")
    assert [m.text for m in emu.ephemerals("U1")] == ["Stats for stats 7d: 3 referrals"]
    assert emu.responses == [{"text": "Stats for stats 7d: 3 referrals", "user": "U1"}]
    assert (seen[0]["user_name"], seen[0]["channel_id"], seen[0]["team_id"]) == ("rita", "C1", "T0001")
    assert emu.messages("C1") == []  # nobody else saw it
    forgeries: list[Delivery] = [{"tamper": True}, {"timestamp_offset": -400}, {"sign": False}]
    for forged in forgeries:  # tampered, stale, unsigned: bolt refuses them all
        answer = await emu.slash_command("U1", "/referrals", "stats", **forged)
        assert (answer.status, answer.json, len(seen)) == (401, {"error": "invalid request"}, 1)


async def test_a_click_reaches_the_action_listener(emu: SlackEmulator, client: AsyncWebClient, app: AsyncApp) -> None:
    @app.action("claim")
    async def claim(ack: Any, body: dict[str, Any], respond: Any) -> None:
        await ack()
        await respond(replace_original=True, text=f"Claimed by {body['user']['name']} ({body['actions'][0]['value']})")

    blocks = [section("New referral: *Ben*"), *actions(button("Claim it", "claim", "ref-1"))]
    await client.chat_postMessage(channel="C1", text="New referral: Ben", blocks=blocks)
    alert = emu.messages("C1")[0]
    assert alert.button("Claim")["value"] == "ref-1"
    assert (await emu.click("U1", alert, "claim")).status == 200
    await emu.wait_for(lambda: emu.messages("C1")[0].edits == 1, what="the alert to be replaced")
    (claimed,) = emu.messages("C1")
    assert (claimed.text, claimed.blocks, claimed.history) == ("Claimed by rita (ref-1)", [], ["New referral: Ben"])
    with pytest.raises(AssertionError, match="no button 'claim'"):
        await emu.click("U1", claimed, "claim")
    assert (await emu.click("U2", alert, "claim")).status == 200  # a stale screen still shows the button
    await emu.wait_for(lambda: emu.messages("C1")[0].text == "Claimed by mo (ref-1)", what="the second claim")


async def test_modals_and_app_home_reach_bolt(emu: SlackEmulator, app: AsyncApp) -> None:
    submitted: list[str] = []
    retries: list[list[str]] = []

    @app.command("/referrals")
    async def open_form(ack: Any, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        await client.views_open(trigger_id=body["trigger_id"], view=modal())

    @app.view("refer")
    async def refer(ack: Any, view: dict[str, Any]) -> None:
        name = view["state"]["values"]["friend"]["name"]["value"]
        if not name.strip():
            await ack(response_action="errors", errors={"friend": "Tell us who to contact"})
            return
        submitted.append(name)
        await ack()

    await emu.slash_command("U1", "/referrals", "refer")
    await emu.wait_for(lambda: len(emu.open_views("U1")) == 1, what="the modal to open")
    view_id = emu.views("U1")[0]["id"]
    blank = await emu.submit_view("U1", view_id, {"friend": {"name": " "}})
    assert blank.json == {"response_action": "errors", "errors": {"friend": "Tell us who to contact"}}
    assert [v["id"] for v in emu.open_views("U1")] == [view_id]  # the modal stays, showing the error
    accepted = await emu.submit_view("U1", view_id, {"friend": {"name": "Ben Ng"}})
    assert (accepted.status, submitted, emu.open_views("U1")) == (200, ["Ben Ng"], [])

    @app.event("app_home_opened")
    async def home(event: dict[str, Any], client: AsyncWebClient, request: AsyncBoltRequest) -> None:
        headers = request.headers  # bolt leaves spotting a retry to the app
        retries.append([*headers.get("x-slack-retry-num", []), *headers.get("x-slack-retry-reason", [])])
        header = {"type": "header", "text": {"type": "plain_text", "text": "Your referrals"}}
        await client.views_publish(user_id=event["user"], view={"type": "home", "blocks": [header]})

    assert (await emu.send_event("U1", {"type": "app_home_opened", "tab": "home"})).status == 200
    await emu.wait_for(lambda: emu.home("U1") is not None, what="the App Home to be published")
    assert (emu.home("U1") or {})["blocks"][0]["text"]["text"] == "Your referrals"
    assert (await emu.resend_last(retry_num=1)).status == 200
    await emu.wait_for(lambda: len(retries) == 2, what="the retried event")
    assert retries == [[], ["1", "http_timeout"]]


async def test_socket_mode_looks_like_slack(emu: SlackEmulator, client: AsyncWebClient) -> None:
    bot_token = await refused(AsyncWebClient(base_url=emu.api_url).apps_connections_open(app_token=BOT_TOKEN))
    assert bot_token.response["error"] == "not_allowed_token_type"
    url = (await AsyncWebClient(base_url=emu.api_url).apps_connections_open(app_token=APP_TOKEN))["url"]
    async with ClientSession() as http, http.ws_connect(url, autoping=False) as socket:
        hello = await socket.receive_json()  # what the SDK expects first, as Slack sends it
        assert (hello["type"], hello["num_connections"], hello["connection_info"]["app_id"]) == ("hello", 1, "A0001")
        await socket.ping(b"sdk-ping-pong:1")
        pong = await socket.receive()
        assert (pong.type, pong.data) == (WSMsgType.PONG, b"sdk-ping-pong:1")
        with pytest.raises(WSServerHandshakeError):
            await http.ws_connect(url)  # each URL connects once
        await emu.disconnect_sockets()
        assert (await socket.receive_json())["type"] == "disconnect"
    await emu.wait_for(lambda: emu.socket_clients == 0, what="the raw socket to close")

    app = AsyncApp(client=client, signing_secret=SECRET)

    @app.command("/referrals")
    async def referrals(ack: Any, respond: Any, command: dict[str, Any]) -> None:
        await ack(f"Working on {command['text']}…")
        await respond("Done: 12 referrals this week")

    handler = AsyncSocketModeHandler(app, APP_TOKEN)
    await handler.connect_async()  # type: ignore[no-untyped-call]  # slack-bolt leaves it unannotated
    try:
        await emu.wait_for_socket()
        emu.mode = "socket"
        answer = await emu.slash_command("U2", "/referrals", "stats", channel_id="C1")
        assert (answer.status, answer.json) == (200, {"text": "Working on stats…"})
        await emu.wait_for(lambda: len(emu.ephemerals("U2")) == 1, what="the follow-up reply")
        assert emu.ephemerals("U2")[0].text == "Done: 12 referrals this week"
        emu.ack_timeout = 0.3
        assert (await emu.slash_command("U2", "/unknown")).status == 504  # bolt acks nothing without a listener
    finally:
        await handler.close_async()  # type: ignore[no-untyped-call]
    await emu.wait_for(lambda: emu.socket_clients == 0, what="the socket to close")
