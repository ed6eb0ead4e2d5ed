"""FakeSlack and SlackRequestSender over real HTTP, driven by slack_sdk and a Bolt app."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
from flask import Flask, Response, request
from slack_bolt import App, BoltContext
from slack_bolt.adapter.flask import SlackRequestHandler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.webhook import WebhookClient
from werkzeug.serving import WSGIRequestHandler, make_server

from bot.sandbox.slack_api import FakeSlack, validate_view
from bot.sandbox.slack_requests import (
    SlackRequestSender,
    checkboxes,
    number,
    plain_text,
    static_select,
    users_select,
)

TOKEN = "xoxb-test-token"
SECRET = "shh-signing-secret"
ALICE = "U0ALICE"
BOB = "U0BOB"


def modal(
    callback_id: str = "credits_modal", *, title: str = "Buy credits", **extra: Any
) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": callback_id,
        "title": {"type": "plain_text", "text": title},
        "submit": {"type": "plain_text", "text": "Buy"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "input",
                "block_id": "credits",
                "label": {"type": "plain_text", "text": "Credits"},
                "element": {
                    "type": "number_input",
                    "action_id": "credits_input",
                    "is_decimal_allowed": False,
                },
            },
            {
                "type": "actions",
                "block_id": "tools",
                "elements": [
                    {
                        "type": "button",
                        "action_id": "refresh",
                        "text": {"type": "plain_text", "text": "Refresh"},
                        "value": "r1",
                    }
                ],
            },
        ],
        **extra,
    }


HOME = {
    "type": "home",
    "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "*Portal*"}}],
}


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as slack:
        slack.add_user(ALICE, "Alice Smith", is_admin=True)
        slack.add_user(BOB, "Bob Jones", tz="America/New_York")
        slack.add_channel("C0GENERAL", "general")
        slack.add_channel("C0SALES", "sales", bot_is_member=False)
        slack.add_channel("C0SECRET", "secret", is_private=True, bot_is_member=False)
        yield slack


@pytest.fixture
def client(fake: FakeSlack) -> WebClient:
    return WebClient(token=TOKEN, base_url=fake.api_url)


# ----------------------------------------------------------------------------------------------
# slack_sdk against the fake
# ----------------------------------------------------------------------------------------------


def test_post_message_is_stored_with_unique_increasing_ts(
    fake: FakeSlack, client: WebClient
) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "Hello"}}]
    first = client.chat_postMessage(channel="C0GENERAL", text="Hello", blocks=blocks)
    reply = client.chat_postMessage(channel="#general", text="In thread", thread_ts=first["ts"])

    assert first["channel"] == "C0GENERAL"
    assert first["message"]["blocks"] == blocks
    assert first["message"]["user"] == "UBOT"
    assert float(reply["ts"]) > float(first["ts"])
    stored = fake.messages("C0GENERAL")
    assert [(m["text"], m["thread_ts"], m["ephemeral"]) for m in stored] == [
        ("Hello", None, False),
        ("In thread", first["ts"], False),
    ]
    assert stored[0]["blocks"] == blocks
    call = fake.last("chat.postMessage")
    assert call.token == TOKEN
    assert call.params["thread_ts"] == first["ts"]


def test_direct_messages_by_user_id_and_conversations_open(
    fake: FakeSlack, client: WebClient
) -> None:
    opened = client.conversations_open(users=ALICE)
    assert opened["channel"]["id"] == f"D{ALICE}"

    by_user = client.chat_postMessage(channel=ALICE, text="Your invoice is ready")
    by_dm = client.chat_postMessage(channel=f"D{ALICE}", text="Again")

    assert by_user["channel"] == by_dm["channel"] == f"D{ALICE}"
    assert [m["text"] for m in fake.messages(f"D{ALICE}")] == ["Your invoice is ready", "Again"]
    with pytest.raises(SlackApiError) as unknown:
        client.chat_postMessage(channel="U0NOBODY", text="hi")
    assert unknown.value.response["error"] == "channel_not_found"


def test_ephemeral_update_and_delete(fake: FakeSlack, client: WebClient) -> None:
    ephemeral = client.chat_postEphemeral(channel="C0GENERAL", user=ALICE, text="Only you")
    posted = client.chat_postMessage(channel="C0GENERAL", text="v1")
    client.chat_update(channel="C0GENERAL", ts=posted["ts"], text="v2", blocks=[])

    messages = fake.messages("C0GENERAL")
    assert messages[0]["ts"] == ephemeral["message_ts"]
    assert (messages[0]["ephemeral"], messages[0]["user"], messages[0]["text"]) == (
        True,
        ALICE,
        "Only you",
    )
    assert (messages[1]["ephemeral"], messages[1]["user"], messages[1]["text"]) == (
        False,
        None,
        "v2",
    )

    client.chat_delete(channel="C0GENERAL", ts=posted["ts"])
    assert [m["text"] for m in fake.messages("C0GENERAL")] == ["Only you"]
    with pytest.raises(SlackApiError) as gone:
        client.chat_update(channel="C0GENERAL", ts=posted["ts"], text="v3")
    assert gone.value.response["error"] == "message_not_found"
    with pytest.raises(SlackApiError) as no_user:
        client.api_call("chat.postEphemeral", json={"channel": "C0GENERAL", "text": "hi"})
    assert no_user.value.response["error"] == "invalid_arguments"


def test_not_in_channel_until_joined_and_private_channels(
    fake: FakeSlack, client: WebClient
) -> None:
    with pytest.raises(SlackApiError) as outside:
        client.chat_postMessage(channel="C0SALES", text="hi")
    assert outside.value.response["error"] == "not_in_channel"

    joined = client.conversations_join(channel="C0SALES")
    assert joined["channel"]["is_member"] is True
    client.chat_postMessage(channel="C0SALES", text="hi")
    assert [m["text"] for m in fake.messages("C0SALES")] == ["hi"]

    for channel, error in [
        ("C0SECRET", "method_not_supported_for_channel_type"),
        ("C0NOPE", "channel_not_found"),
    ]:
        with pytest.raises(SlackApiError) as failed:
            client.conversations_join(channel=channel)
        assert failed.value.response["error"] == error
    with pytest.raises(SlackApiError) as private:
        client.chat_postMessage(channel="C0SECRET", text="hi")
    assert private.value.response["error"] == "channel_not_found"

    info = client.conversations_info(channel="C0GENERAL")["channel"]
    assert (info["name"], info["is_private"], info["is_member"]) == ("general", False, True)
    listed = client.conversations_list(types="public_channel,private_channel")["channels"]
    assert sorted(c["id"] for c in listed) == ["C0GENERAL", "C0SALES"]


def test_auth_errors_and_unknown_method(fake: FakeSlack) -> None:
    with pytest.raises(SlackApiError) as wrong:
        WebClient(token="xoxb-wrong", base_url=fake.api_url).auth_test()
    assert wrong.value.response["error"] == "invalid_auth"
    assert wrong.value.response.status_code == 200
    with pytest.raises(SlackApiError) as missing:
        WebClient(base_url=fake.api_url).chat_postMessage(channel="C0GENERAL", text="hi")
    assert missing.value.response["error"] == "not_authed"
    with pytest.raises(SlackApiError) as unknown:
        WebClient(token=TOKEN, base_url=fake.api_url).api_call("chat.teleport")
    assert unknown.value.response["error"] == "unknown_method"
    assert [c.method for c in fake.calls()] == ["auth.test", "chat.postMessage", "chat.teleport"]
    assert [c.token for c in fake.calls()] == ["xoxb-wrong", None, TOKEN]


def test_form_encoded_json_fields_and_token_field_are_decoded(fake: FakeSlack) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Hi*"}}]
    answer = requests.post(
        fake.api_url + "chat.postMessage",
        data={"token": TOKEN, "channel": "C0GENERAL", "blocks": json.dumps(blocks)},
        timeout=5,
    ).json()
    assert answer["ok"] is True
    call = fake.last("chat.postMessage")
    assert call.params == {"channel": "C0GENERAL", "blocks": blocks}
    assert call.token == TOKEN
    assert fake.messages()[0]["blocks"] == blocks

    bad = requests.post(
        fake.api_url + "chat.postMessage",
        json={"channel": "C0GENERAL", "blocks": [{"text": "no type"}]},
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=5,
    ).json()
    assert bad["error"] == "invalid_blocks"
    assert bad["response_metadata"]["messages"] == [
        "[ERROR] missing required field: type [json-pointer:/blocks/0]"
    ]


def test_users_info_in_slacks_shape(client: WebClient) -> None:
    alice = client.users_info(user=ALICE)["user"]
    assert alice["id"] == ALICE
    assert alice["team_id"] == "T0001"
    assert alice["real_name"] == "Alice Smith"
    assert (alice["is_admin"], alice["is_owner"], alice["is_primary_owner"], alice["is_bot"]) == (
        True,
        False,
        False,
        False,
    )
    assert alice["tz"] == "Europe/London"
    assert alice["profile"]["email"] == "alice.smith@example.com"
    assert alice["profile"]["display_name"] == "Alice Smith"
    assert "locale" not in alice
    assert client.users_info(user=BOB, include_locale=True)["user"]["locale"] == "en-GB"
    with pytest.raises(SlackApiError) as missing:
        client.users_info(user="U0NOBODY")
    assert missing.value.response["error"] == "user_not_found"


def test_views_open_push_update_with_hash_conflict(fake: FakeSlack, client: WebClient) -> None:
    trigger = fake.new_trigger_id(ALICE)
    opened = client.views_open(trigger_id=trigger, view=modal(private_metadata="acct-1"))["view"]
    assert opened["id"].startswith("V")
    assert opened["root_view_id"] == opened["id"]
    assert opened["private_metadata"] == "acct-1"
    assert opened["state"] == {"values": {}}
    assert (opened["team_id"], opened["app_id"]) == ("T0001", "A0001")
    with pytest.raises(SlackApiError) as reused:
        client.views_open(trigger_id=trigger, view=modal())
    assert reused.value.response["error"] == "exchanged_trigger_id"

    second = client.views_push(trigger_id=fake.new_trigger_id(ALICE), view=modal("step2"))["view"]
    client.views_push(trigger_id=fake.new_trigger_id(ALICE), view=modal("step3"))
    assert second["previous_view_id"] == opened["id"]
    assert second["root_view_id"] == opened["id"]
    with pytest.raises(SlackApiError) as too_deep:
        client.views_push(trigger_id=fake.new_trigger_id(ALICE), view=modal("step4"))
    assert too_deep.value.response["error"] == "push_limit_reached"
    assert [v["callback_id"] for v in fake.modal_stack(ALICE)] == [
        "credits_modal",
        "step2",
        "step3",
    ]

    updated = client.views_update(
        view_id=opened["id"], hash=opened["hash"], view=modal(title="Updated")
    )
    assert updated["view"]["hash"] != opened["hash"]
    assert fake.view(opened["id"])["title"]["text"] == "Updated"
    with pytest.raises(SlackApiError) as stale:
        client.views_update(view_id=opened["id"], hash=opened["hash"], view=modal(title="Stale"))
    assert stale.value.response["error"] == "hash_conflict"
    with pytest.raises(SlackApiError) as unknown:
        client.views_update(view_id="V0NOPE", view=modal())
    assert unknown.value.response["error"] == "not_found"
    with pytest.raises(SlackApiError) as invalid:
        client.views_update(
            view_id=opened["id"], view=modal(title="A title far too long for Slack")
        )
    assert invalid.value.response["error"] == "invalid_arguments"


def test_views_update_by_external_id_keeps_entered_values(
    fake: FakeSlack, client: WebClient
) -> None:
    view = client.views_open(trigger_id=fake.new_trigger_id(BOB), view=modal(external_id="buy-1"))[
        "view"
    ]
    fake.set_view_state(view["id"], {"credits": {"credits_input": number(120)}})

    client.views_update(external_id="buy-1", view=modal(title="Again", external_id="buy-1"))

    after = fake.view(view["id"])
    assert after["title"]["text"] == "Again"
    assert after["state"]["values"] == {
        "credits": {"credits_input": {"type": "number_input", "value": "120"}}
    }


def test_views_publish_app_home(fake: FakeSlack, client: WebClient) -> None:
    assert fake.home_view(ALICE) is None
    first = client.views_publish(user_id=ALICE, view=HOME)["view"]
    assert first["type"] == "home"
    second = client.views_publish(user_id=ALICE, view=HOME, hash=first["hash"])["view"]
    assert second["id"] == first["id"]
    assert second["hash"] != first["hash"]
    with pytest.raises(SlackApiError) as conflict:
        client.views_publish(user_id=ALICE, view=HOME, hash=first["hash"])
    assert conflict.value.response["error"] == "hash_conflict"
    with pytest.raises(SlackApiError) as modal_on_home:
        client.views_publish(user_id=ALICE, view=modal())
    assert modal_on_home.value.response["error"] == "invalid_arguments"
    home = fake.home_view(ALICE)
    assert home is not None
    assert home["hash"] == second["hash"]


def test_apply_view_response_does_what_slack_does(fake: FakeSlack, client: WebClient) -> None:
    root = client.views_open(trigger_id=fake.new_trigger_id(ALICE), view=modal())["view"]

    fake.apply_view_response(
        ALICE, root["id"], {"response_action": "errors", "errors": {"credits": "Too few"}}
    )
    assert fake.view(root["id"])["errors"] == {"credits": "Too few"}

    fake.apply_view_response(
        ALICE, root["id"], {"response_action": "update", "view": modal(title="Fixed")}
    )
    assert "errors" not in fake.view(root["id"])
    assert fake.view(root["id"])["hash"] != root["hash"]

    fake.apply_view_response(
        ALICE, root["id"], {"response_action": "push", "view": modal("confirm")}
    )
    stack = fake.modal_stack(ALICE)
    assert [v["callback_id"] for v in stack] == ["credits_modal", "confirm"]

    fake.apply_view_response(ALICE, stack[1]["id"], None)
    assert [v["id"] for v in fake.modal_stack(ALICE)] == [root["id"]]

    fake.apply_view_response(
        ALICE, root["id"], {"response_action": "push", "view": modal("confirm")}
    )
    fake.apply_view_response(ALICE, fake.modal_stack(ALICE)[1]["id"], {"response_action": "clear"})
    assert fake.modal_stack(ALICE) == []
    with pytest.raises(KeyError):
        fake.view(root["id"])
    with pytest.raises(ValueError, match="not open"):
        fake.apply_view_response(ALICE, root["id"], None)
    again = client.views_open(trigger_id=fake.new_trigger_id(ALICE), view=modal())["view"]
    with pytest.raises(ValueError, match="not input blocks"):
        fake.apply_view_response(
            ALICE, again["id"], {"response_action": "errors", "errors": {"tools": "x"}}
        )


def test_files_upload_v2_end_to_end(fake: FakeSlack, client: WebClient) -> None:
    pdf = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n\x00\xff\r\n%%EOF\n"
    result = client.files_upload_v2(
        channel="C0GENERAL",
        content=pdf,
        filename="INV-000001.pdf",
        title="Invoice INV-000001",
        initial_comment="Your invoice",
    )

    file_id = result["file"]["id"]
    assert fake.file_bytes(file_id) == pdf
    assert result["file"]["name"] == "INV-000001.pdf"
    assert result["file"]["title"] == "Invoice INV-000001"
    assert result["file"]["mimetype"] == "application/pdf"
    assert result["file"]["channels"] == ["C0GENERAL"]
    assert fake.last("files.getUploadURLExternal").params["length"] == str(len(pdf))  # form-encoded
    assert fake.last("file_upload").params == {"file_id": file_id, "length": len(pdf)}
    [message] = fake.messages("C0GENERAL")
    assert message["text"] == "Your invoice"
    assert [f["id"] for f in message["files"]] == [file_id]
    assert client.files_info(file=file_id)["file"]["size"] == len(pdf)
    [stored] = fake.files()
    assert stored["id"] == file_id
    download = requests.get(stored["url_private"], timeout=5)
    assert download.content == pdf


def test_files_upload_v2_into_a_channel_the_bot_is_not_in(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as outside:
        client.files_upload_v2(channel="C0SALES", content=b"x", filename="a.txt")
    assert outside.value.response["error"] == "not_in_channel"


def test_response_url_messages(fake: FakeSlack) -> None:
    url = fake.new_response_url(channel_id="C0GENERAL", user_id=ALICE)
    assert url.startswith(fake.base_url + "/response/")
    webhook = WebhookClient(url)

    assert webhook.send(text="Just you").status_code == 200
    assert webhook.send(text="Everyone", response_type="in_channel").status_code == 200

    messages = fake.messages("C0GENERAL")
    assert [(m["text"], m["ephemeral"], m["user"]) for m in messages] == [
        ("Just you", True, ALICE),
        ("Everyone", False, None),
    ]
    assert fake.last("response_url").params == {"text": "Everyone", "response_type": "in_channel"}

    original = fake.new_response_url(
        channel_id="C0GENERAL", user_id=ALICE, message_ts=messages[1]["ts"]
    )
    WebhookClient(original).send(text="Replaced", replace_original=True)
    assert fake.messages("C0GENERAL")[1]["text"] == "Replaced"
    WebhookClient(original).send(text="", delete_original=True)
    assert [m["text"] for m in fake.messages("C0GENERAL")] == ["Just you"]
    assert WebhookClient(fake.base_url + "/response/nope").send(text="x").status_code == 404


def test_oauth_v2_access_and_multiple_workspaces(fake: FakeSlack) -> None:
    fake.add_oauth_code("code-1", "T0002", "Globex", "xoxb-globex", authed_user_id="U0INSTALL")
    installer = WebClient(base_url=fake.api_url)
    granted = installer.oauth_v2_access(client_id="111.222", client_secret="secret", code="code-1")

    assert granted["access_token"] == "xoxb-globex"
    assert granted["token_type"] == "bot"
    assert granted["team"] == {"id": "T0002", "name": "Globex"}
    assert granted["authed_user"] == {"id": "U0INSTALL"}
    assert granted["app_id"] == "A0001"
    assert "chat:write" in granted["scope"].split(",")
    assert granted["bot_user_id"]
    with pytest.raises(SlackApiError) as reused:
        installer.oauth_v2_access(client_id="111.222", client_secret="secret", code="code-1")
    assert reused.value.response["error"] == "invalid_code"

    fake.add_token("xoxb-initech", "T0003", team_name="Initech")
    globex = WebClient(token="xoxb-globex", base_url=fake.api_url).auth_test()
    initech = WebClient(token="xoxb-initech", base_url=fake.api_url).auth_test()
    acme = WebClient(token=TOKEN, base_url=fake.api_url).auth_test()
    assert (globex["team_id"], globex["team"]) == ("T0002", "Globex")
    assert (initech["team_id"], acme["team_id"], acme["user_id"]) == ("T0003", "T0001", "UBOT")
    assert [c.token for c in fake.calls("auth.test")] == ["xoxb-globex", "xoxb-initech", TOKEN]


def test_rate_limited_call_is_retried_by_slack_sdk(fake: FakeSlack) -> None:
    fake.rate_limit("chat.postMessage", times=1, retry_after=0)
    plain = WebClient(token=TOKEN, base_url=fake.api_url, retry_handlers=[])
    with pytest.raises(SlackApiError) as limited:
        plain.chat_postMessage(channel="C0GENERAL", text="hi")
    assert limited.value.response.status_code == 429
    assert limited.value.response["error"] == "ratelimited"
    assert limited.value.response.headers["Retry-After"] == "0"

    fake.rate_limit("chat.postMessage", times=1, retry_after=0)
    retrying = WebClient(
        token=TOKEN,
        base_url=fake.api_url,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)],
    )
    assert retrying.chat_postMessage(channel="C0GENERAL", text="hi")["ok"] is True
    assert [c.status for c in fake.calls("chat.postMessage")] == [429, 429, 200]
    assert [m["text"] for m in fake.messages()] == ["hi"]


def test_wait_for_waits_and_reports_what_was_called(fake: FakeSlack, client: WebClient) -> None:
    poster = threading.Timer(
        0.1, lambda: client.chat_postMessage(channel="C0GENERAL", text="later")
    )
    poster.start()
    try:
        call = fake.wait_for(
            "chat.postMessage", lambda c: c.params.get("text") == "later", timeout=5
        )
    finally:
        poster.join()
    assert call.params["channel"] == "C0GENERAL"
    with pytest.raises(AssertionError, match=r"no matching views\.open call.*chat\.postMessage"):
        fake.wait_for("views.open", timeout=0.05)
    fake.clear()
    assert fake.calls() == []


def test_validate_view_catches_slacks_common_limits() -> None:
    assert validate_view(modal()) == []
    no_submit = modal()
    del no_submit["submit"]
    assert validate_view(no_submit) == [
        "[ERROR] must provide a submit property when using input blocks [json-pointer:/view]"
    ]
    assert validate_view(modal(title="x" * 25)) == [
        "[ERROR] must be less than 25 characters [json-pointer:/view/title/text]"
    ]


# ----------------------------------------------------------------------------------------------
# A Bolt app driven by SlackRequestSender
# ----------------------------------------------------------------------------------------------


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return


@contextmanager
def serve(flask_app: Flask) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, flask_app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/slack/events"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@dataclass
class Bolt:
    fake: FakeSlack
    sender: SlackRequestSender
    url: str
    seen: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def saw(self, kind: str, timeout: float = 5.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                for body in self.seen:
                    if body["_kind"] == kind:
                        return body
            time.sleep(0.01)
        raise AssertionError(f"no {kind} reached the app")


def build_app(fake: FakeSlack, bolt: list[Bolt]) -> Flask:
    app = App(
        signing_secret=SECRET,
        client=WebClient(token=TOKEN, base_url=fake.api_url),
        token_verification_enabled=False,
    )

    def note(kind: str, body: dict[str, Any], context: BoltContext) -> None:
        with bolt[0].lock:
            bolt[0].seen.append({"_kind": kind, "body": body, "context": dict(context)})

    @app.command("/portal")
    def portal(ack: Any, body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        ack()
        note("command", body, context)
        client.views_open(trigger_id=body["trigger_id"], view=modal(private_metadata=body["text"]))

    @app.action("refresh")
    def refresh(ack: Any, body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        ack()
        note("refresh", body, context)
        view = body["view"]
        client.views_update(view_id=view["id"], hash=view["hash"], view=modal(title="Refreshed"))

    @app.action("approve")
    def approve(ack: Any, body: dict[str, Any], respond: Any, context: BoltContext) -> None:
        ack()
        note("approve", body, context)
        respond(text="Approved", replace_original=True)

    @app.view("credits_modal")
    def submit(ack: Any, body: dict[str, Any], view: dict[str, Any], context: BoltContext) -> None:
        note("submission", body, context)
        credits = view["state"]["values"]["credits"]["credits_input"]["value"]
        if int(credits) < 100:
            ack(response_action="errors", errors={"credits": "Buy at least 100 credits"})
        else:
            ack()

    @app.view_closed("credits_modal")
    def closed(ack: Any, body: dict[str, Any], context: BoltContext) -> None:
        ack()
        note("closed", body, context)

    @app.options("company")
    def company_options(ack: Any, body: dict[str, Any], context: BoltContext) -> None:
        note("suggestion", body, context)
        ack(options=[{"text": {"type": "plain_text", "text": "Acme Ltd"}, "value": "acme"}])

    @app.event("app_home_opened")
    def home(
        event: dict[str, Any], body: dict[str, Any], client: WebClient, context: BoltContext
    ) -> None:
        note("home", body, context)
        client.views_publish(user_id=event["user"], view=HOME)

    flask_app = Flask(__name__)
    handler = SlackRequestHandler(app)

    @flask_app.post("/slack/events")
    def events() -> Response:
        return handler.handle(request)

    return flask_app


@pytest.fixture
def bolt(fake: FakeSlack) -> Iterator[Bolt]:
    holder: list[Bolt] = []
    with (
        serve(build_app(fake, holder)) as url,
        SlackRequestSender(url, SECRET, fake=fake) as sender,
    ):
        holder.append(Bolt(fake=fake, sender=sender, url=url))
        yield holder[0]


def test_slash_command_opens_a_modal_in_the_fake(bolt: Bolt) -> None:
    response = bolt.sender.slash_command(ALICE, "acct-7")

    assert response.status_code == 200
    call = bolt.fake.wait_for("views.open")
    assert call.response["ok"] is True
    [opened] = bolt.fake.modal_stack(ALICE)
    assert opened["private_metadata"] == "acct-7"
    seen = bolt.saw("command")
    assert sorted(seen["body"]) == sorted(
        [
            "token",
            "team_id",
            "team_domain",
            "channel_id",
            "channel_name",
            "user_id",
            "user_name",
            "command",
            "text",
            "api_app_id",
            "is_enterprise_install",
            "response_url",
            "trigger_id",
        ]
    )
    assert seen["body"]["user_name"] == "alice.smith"
    assert (seen["context"]["team_id"], seen["context"]["user_id"]) == ("T0001", ALICE)
    assert seen["context"]["channel_id"] == "C0GENERAL"


def test_block_action_in_a_modal_updates_it(bolt: Bolt) -> None:
    bolt.sender.slash_command(ALICE)
    bolt.fake.wait_for("views.open")
    [view] = bolt.fake.modal_stack(ALICE)

    response = bolt.sender.block_action(
        ALICE, "refresh", view=view, state_values={"credits": {"credits_input": number(5)}}
    )

    assert response.status_code == 200
    update = bolt.fake.wait_for("views.update")
    assert update.response["ok"] is True, update.response
    assert bolt.fake.view(view["id"])["title"]["text"] == "Refreshed"
    body = bolt.saw("refresh")["body"]
    assert body["container"] == {"type": "view", "view_id": view["id"]}
    [action] = body["actions"]
    assert (action["block_id"], action["type"], action["value"]) == ("tools", "button", "r1")
    assert body["view"]["state"]["values"]["credits"]["credits_input"]["value"] == "5"
    assert "response_url" not in body


def test_block_action_in_a_message_responds_through_response_url(bolt: Bolt) -> None:
    client = WebClient(token=TOKEN, base_url=bolt.fake.api_url)
    blocks = [
        {
            "type": "actions",
            "block_id": "decide",
            "elements": [
                {
                    "type": "button",
                    "action_id": "approve",
                    "text": {"type": "plain_text", "text": "OK"},
                }
            ],
        }
    ]
    client.chat_postMessage(channel="C0GENERAL", text="Approve?", blocks=blocks)
    [message] = bolt.fake.messages("C0GENERAL")

    response = bolt.sender.block_action(BOB, "approve", message=message, value="yes")

    assert response.status_code == 200
    bolt.fake.wait_for("response_url")
    assert [m["text"] for m in bolt.fake.messages("C0GENERAL")] == ["Approved"]
    body = bolt.saw("approve")["body"]
    assert body["container"] == {
        "type": "message",
        "message_ts": message["ts"],
        "channel_id": "C0GENERAL",
        "is_ephemeral": False,
    }
    assert body["channel"] == {"id": "C0GENERAL", "name": "general"}
    assert body["message"]["text"] == "Approve?"
    assert body["actions"][0]["value"] == "yes"
    assert body["user"] == {
        "id": BOB,
        "username": "bob.jones",
        "name": "bob.jones",
        "team_id": "T0001",
    }


def test_view_submission_errors_are_recorded_then_success_closes(bolt: Bolt) -> None:
    bolt.sender.slash_command(ALICE)
    bolt.fake.wait_for("views.open")
    [view] = bolt.fake.modal_stack(ALICE)

    rejected = bolt.sender.view_submission(
        ALICE, view, {"credits": {"credits_input": number("50")}}
    )

    assert rejected.status_code == 200
    assert rejected.json() == {
        "response_action": "errors",
        "errors": {"credits": "Buy at least 100 credits"},
    }
    [still_open] = bolt.fake.modal_stack(ALICE)
    assert still_open["errors"] == {"credits": "Buy at least 100 credits"}
    assert still_open["state"]["values"]["credits"]["credits_input"]["value"] == "50"
    body = bolt.saw("submission")["body"]
    assert body["type"] == "view_submission"
    assert body["response_urls"] == []
    assert (body["view"]["id"], body["view"]["hash"]) == (view["id"], view["hash"])

    accepted = bolt.sender.view_submission(
        ALICE, still_open, {"credits": {"credits_input": number(150)}}
    )
    assert accepted.status_code == 200
    assert bolt.fake.modal_stack(ALICE) == []


def test_view_closed_and_block_suggestion(bolt: Bolt) -> None:
    bolt.sender.slash_command(BOB)
    bolt.fake.wait_for("views.open")
    [view] = bolt.fake.modal_stack(BOB)

    options = bolt.sender.block_suggestion(BOB, "company", "ac", view=view)
    assert options.status_code == 200
    assert options.json()["options"][0]["value"] == "acme"
    assert bolt.saw("suggestion")["body"]["value"] == "ac"

    assert bolt.sender.view_closed(BOB, view).status_code == 200
    assert bolt.saw("closed")["body"]["is_cleared"] is False
    assert bolt.fake.modal_stack(BOB) == []


def test_app_home_opened_publishes_home(bolt: Bolt) -> None:
    response = bolt.sender.app_home_opened(ALICE, event_id="Ev0001")

    assert response.status_code == 200
    publish = bolt.fake.wait_for("views.publish")
    assert publish.params["user_id"] == ALICE
    home = bolt.fake.home_view(ALICE)
    assert home is not None
    assert home["blocks"] == HOME["blocks"]
    body = bolt.saw("home")["body"]
    assert body["event_id"] == "Ev0001"
    assert body["event"]["channel"] == f"D{ALICE}"
    assert body["authorizations"][0]["user_id"] == "UBOT"


def test_url_verification_and_retries_are_answered(bolt: Bolt) -> None:
    challenge = bolt.sender.url_verification("c-123")
    assert challenge.status_code == 200
    assert challenge.json() == {"challenge": "c-123"}
    retried = bolt.sender.app_home_opened(BOB, retry_num=1)
    assert retried.status_code == 200
    bolt.fake.wait_for("views.publish")


def test_bad_signatures_and_stale_timestamps_are_rejected(bolt: Bolt) -> None:
    with SlackRequestSender(bolt.url, "not-the-secret", fake=bolt.fake) as forger:
        assert forger.slash_command(ALICE).status_code == 401
    six_minutes_ago = int(time.time()) - 6 * 60
    assert bolt.sender.slash_command(ALICE, timestamp=six_minutes_ago).status_code == 401
    body = b"token=x&command=%2Fportal"
    now = int(time.time())
    tampered = bolt.sender.signature(body + b"&text=more", now)
    assert (
        bolt.sender.send(
            body, "application/x-www-form-urlencoded", timestamp=now, signature=tampered
        ).status_code
        == 401
    )
    assert bolt.fake.calls("views.open") == []


def test_state_value_helpers_are_in_slacks_format() -> None:
    assert plain_text("Acme") == {"type": "plain_text_input", "value": "Acme"}
    assert number(12) == {"type": "number_input", "value": "12"}
    assert static_select("GB", "United Kingdom") == {
        "type": "static_select",
        "selected_option": {
            "text": {"type": "plain_text", "text": "United Kingdom", "emoji": True},
            "value": "GB",
        },
    }
    assert static_select(None) == {"type": "static_select", "selected_option": None}
    assert users_select(ALICE) == {"type": "users_select", "selected_user": ALICE}
    assert [o["value"] for o in checkboxes(["a", "b"])["selected_options"]] == ["a", "b"]
