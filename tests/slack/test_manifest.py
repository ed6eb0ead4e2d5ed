"""manifest.yml is valid for Slack, and everything it sends the app has a listener."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from bot.app import BOT_SCOPES, HANDLED_EVENTS
from bot.sandbox.slack_requests import plain_text
from bot.ui.ids import PORTAL_COMMAND, Act, Cb
from tests.slack.conftest import STRANGER, Portal

ROOT = Path(__file__).parents[2]
SCHEMA = ROOT.parent / "shared" / "slack" / "manifest.schema.1.0.0.json"

# Inputs inside modals send nothing by themselves; every other action id reaches a listener.
SILENT_INPUTS = {
    act for act in Act if act.value.endswith("_input") and act is not Act.CREDITS_INPUT
}
# Views with no submit button: Slack never sends their submission.
VIEW_ONLY = {Cb.NOTICE, Cb.INVOICE_DETAIL, Cb.INVOICE_CREATED}


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "manifest.yml").read_text())
    return loaded


def test_manifest_validates_against_slacks_schema(manifest: dict[str, Any]) -> None:
    if not SCHEMA.exists():
        pytest.skip(f"Slack's manifest schema is not beside the repository at {SCHEMA}")
    schema = json.loads(SCHEMA.read_text())
    jsonschema.validate(manifest, schema)


def test_manifest_points_every_url_at_the_one_endpoint(manifest: dict[str, Any]) -> None:
    [command] = manifest["features"]["slash_commands"]
    assert command["command"] == PORTAL_COMMAND
    assert command["should_escape"] is True
    settings = manifest["settings"]
    urls = {
        command["url"],
        settings["event_subscriptions"]["request_url"],
        settings["interactivity"]["request_url"],
        settings["interactivity"]["message_menu_options_url"],
    }
    assert {url.rsplit("/", 2)[-2:] == ["slack", "events"] for url in urls} == {True}
    assert set(settings["event_subscriptions"]["bot_events"]) == HANDLED_EVENTS
    [redirect] = manifest["oauth_config"]["redirect_urls"]
    assert redirect.rsplit("/", 2)[-2:] == ["slack", "oauth_redirect"]
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True


def test_the_app_asks_for_exactly_the_manifests_scopes(manifest: dict[str, Any]) -> None:
    assert manifest["oauth_config"]["scopes"]["bot"] == list(BOT_SCOPES)


def test_the_command_and_event_have_listeners(app: Portal) -> None:
    assert app.sender.slash_command(STRANGER, "help").status_code == 200
    assert app.sender.app_home_opened(STRANGER).status_code == 200


@pytest.mark.parametrize("action_id", sorted(set(Act) - SILENT_INPUTS))
def test_every_action_id_has_a_listener(app: Portal, action_id: Act) -> None:
    # Bolt answers 404 to a request no listener matched; a refusal is still a 200.
    response = app.sender.block_action(STRANGER, action_id, value="1")
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("callback_id", sorted(set(Cb) - VIEW_ONLY))
def test_every_callback_id_has_a_listener(app: Portal, callback_id: Cb) -> None:
    view = {
        "id": "V0MANIFEST",
        "type": "modal",
        "callback_id": callback_id.value,
        "hash": "1.abc",
        "private_metadata": "",
        "blocks": [],
        "title": plain_text("x"),
    }
    response = app.sender.view_submission(STRANGER, view, {}, apply_response=False)
    assert response.status_code == 200, response.text
