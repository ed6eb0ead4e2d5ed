"""What Slack's client works out from Block Kit before it sends anything: pure functions.

The sandbox page reports what a person entered in a simple form (a string, an option value,
a list of values, a user or channel id, per `block_id` and `action_id`); these functions turn
that into exactly what Slack sends — `view.state.values` entries, a `block_actions` action's
fields — using the element definitions in the blocks, so the page never has to know Slack's
payload formats. Also: slash command text escaped as Slack does with `should_escape`.
"""

from __future__ import annotations

import copy
import html
import re
from collections.abc import Iterator, Mapping
from typing import Any

JsonDict = dict[str, Any]

# Elements whose value lives in `view.state.values`, by what they report.
_TEXT_ELEMENTS = frozenset(
    {"plain_text_input", "number_input", "email_text_input", "url_text_input"}
)
_ONE_OPTION_ELEMENTS = frozenset({"static_select", "external_select", "radio_buttons"})
_MANY_OPTION_ELEMENTS = frozenset({"checkboxes", "multi_static_select", "multi_external_select"})
_PICKERS = {  # element type -> (state key, initial key)
    "users_select": ("selected_user", "initial_user"),
    "conversations_select": ("selected_conversation", "initial_conversation"),
    "channels_select": ("selected_channel", "initial_channel"),
    "datepicker": ("selected_date", "initial_date"),
    "timepicker": ("selected_time", "initial_time"),
}
STATEFUL_ELEMENTS = _TEXT_ELEMENTS | _ONE_OPTION_ELEMENTS | _MANY_OPTION_ELEMENTS | set(_PICKERS)


def block_elements(block: JsonDict) -> Iterator[JsonDict]:
    """The interactive elements of a block: its accessory, its input element, its actions."""
    for key in ("accessory", "element"):
        element = block.get(key)
        if isinstance(element, dict):
            yield element
    if block.get("type") == "actions":
        for element in block.get("elements") or []:
            if isinstance(element, dict):
                yield element


def find_element(blocks: Any, block_id: str, action_id: str) -> JsonDict | None:
    """The element `action_id` in block `block_id` (any block when `block_id` is empty)."""
    for block in blocks if isinstance(blocks, list) else []:
        if not isinstance(block, dict) or (block_id and block.get("block_id") != block_id):
            continue
        for element in block_elements(block):
            if element.get("action_id") == action_id:
                return element
    return None


def element_options(element: JsonDict) -> list[JsonDict]:
    """Every option of a select, overflow, checkboxes or radio group, groups flattened."""
    found = [o for o in element.get("options") or [] if isinstance(o, dict)]
    for group in element.get("option_groups") or []:
        if isinstance(group, dict):
            found.extend(o for o in group.get("options") or [] if isinstance(o, dict))
    return found


def chosen_option(element: JsonDict, entered: Any) -> JsonDict | None:
    """The option object Slack sends for a choice: the element's own, found by value.

    An `external_select`'s options are not in the blocks: the page sends the option it was
    offered (`{"value": ..., "text": ...}`), which is rebuilt as a plain_text option.
    """
    if isinstance(entered, dict):
        value = entered.get("value")
        text = entered.get("text")
    else:
        value, text = entered, None
    if value in (None, ""):
        return None
    for candidate in element_options(element):
        if candidate.get("value") == value:
            return copy.deepcopy(candidate)
    if element.get("type") in {"external_select", "multi_external_select"}:
        shown = text if isinstance(text, str) and text else str(value)
        return {"text": {"type": "plain_text", "text": shown, "emoji": True}, "value": str(value)}
    return None  # not one of this element's options: nothing was chosen


def _as_list(entered: Any) -> list[Any]:
    if entered is None:
        return []
    return list(entered) if isinstance(entered, list | tuple) else [entered]


def _initial_entry(element: JsonDict) -> JsonDict:
    """The state of an element nobody has touched: its initial value, or empty."""
    kind = str(element.get("type"))
    entry: JsonDict = {"type": kind}
    if kind in _TEXT_ELEMENTS:
        initial = element.get("initial_value")
        entry["value"] = initial if isinstance(initial, str) and initial else None
    elif kind in _ONE_OPTION_ELEMENTS:
        initial = element.get("initial_option")
        entry["selected_option"] = copy.deepcopy(initial) if isinstance(initial, dict) else None
    elif kind in _MANY_OPTION_ELEMENTS:
        initial = element.get("initial_options")
        entry["selected_options"] = copy.deepcopy(initial) if isinstance(initial, list) else []
    else:
        state_key, initial_key = _PICKERS[kind]
        entry[state_key] = element.get(initial_key)
    return entry


def _entered_entry(element: JsonDict, entered: Any) -> JsonDict:
    """The state of an element from what the page says was entered in it."""
    kind = str(element.get("type"))
    entry: JsonDict = {"type": kind}
    if kind in _TEXT_ELEMENTS:
        text = entered if isinstance(entered, str) else None
        entry["value"] = text if text else None
    elif kind in _ONE_OPTION_ELEMENTS:
        entry["selected_option"] = chosen_option(element, entered)
    elif kind in _MANY_OPTION_ELEMENTS:
        options = (chosen_option(element, item) for item in _as_list(entered))
        entry["selected_options"] = [o for o in options if o is not None]
    else:
        state_key, _initial = _PICKERS[kind]
        entry[state_key] = entered if isinstance(entered, str) and entered else None
    return entry


def state_values(
    blocks: Any, entered: Mapping[str, Mapping[str, Any]] | None
) -> dict[str, dict[str, JsonDict]]:
    """`view.state.values` as Slack sends it: every stateful element of every block with a
    block_id, from what was entered, else from its initial value."""
    entered = entered or {}
    values: dict[str, dict[str, JsonDict]] = {}
    for block in blocks if isinstance(blocks, list) else []:
        if not isinstance(block, dict) or not isinstance(block.get("block_id"), str):
            continue
        block_id = block["block_id"]
        given = entered.get(block_id) or {}
        for element in block_elements(block):
            action_id = element.get("action_id")
            if element.get("type") not in STATEFUL_ELEMENTS or not isinstance(action_id, str):
                continue
            entry = (
                _entered_entry(element, given[action_id])
                if action_id in given
                else _initial_entry(element)
            )
            values.setdefault(block_id, {})[action_id] = entry
    return values


REQUIRED_FIELD = "Please complete this required field."


def _is_empty(entry: JsonDict) -> bool:
    return not any(value for key, value in entry.items() if key != "type")


def missing_required(blocks: Any, values: Mapping[str, Mapping[str, JsonDict]]) -> list[str]:
    """The input blocks, not marked optional, left empty: Slack's client will not submit them."""
    missing = []
    for block in blocks if isinstance(blocks, list) else []:
        if not isinstance(block, dict) or block.get("type") != "input" or block.get("optional"):
            continue
        block_id = block.get("block_id")
        entries = values.get(block_id, {}) if isinstance(block_id, str) else {}
        if isinstance(block_id, str) and all(_is_empty(entry) for entry in entries.values()):
            missing.append(block_id)
    return missing


# What a block_actions action carries for a picker, by element type.
_PICKED = {
    "users_select": "selected_user",
    "conversations_select": "selected_channel",  # the sender names it for the element type
    "channels_select": "selected_channel",
    "datepicker": "selected_date",
}


def action_fields(element: JsonDict, entered: Any) -> JsonDict:
    """The keyword arguments of `SlackRequestSender.block_action` for using `element`.

    A button sends its own value (the sender copies it); a select or overflow the option
    chosen; checkboxes the options ticked; a picker its id; a dispatching text input the text.
    """
    kind = str(element.get("type"))
    fields: JsonDict = {}
    if kind in _ONE_OPTION_ELEMENTS or kind == "overflow":
        option = chosen_option(element, entered)
        if option is not None:
            fields["selected_option"] = option
    elif kind in _MANY_OPTION_ELEMENTS:
        options = (chosen_option(element, item) for item in _as_list(entered))
        fields["selected_options"] = [o for o in options if o is not None]
    elif kind in _PICKED:
        fields[_PICKED[kind]] = str(entered or "")
    elif kind in _TEXT_ELEMENTS:
        fields["value"] = entered if isinstance(entered, str) else ""
    return fields


# -- Slash command text --------------------------------------------------------------------

_CHANNEL_WORD = re.compile(r"(?<![\w<])#([a-z0-9][a-z0-9_-]*)")
_USER_WORD = re.compile(r"(?<![\w<])@([a-z0-9][a-z0-9._-]*)")


def escape_command_text(text: str, *, channels: Mapping[str, str], users: Mapping[str, str]) -> str:
    """Slash command text as Slack sends it for a command with `should_escape: true`.

    `&`, `<` and `>` become entities, a known `#channel` becomes `<#C123|channel>` and a known
    `@handle` becomes `<@U123|handle>`. `channels` and `users` map names to ids.
    """
    escaped = html.escape(text, quote=False)

    def channel(match: re.Match[str]) -> str:
        name = match.group(1)
        found = channels.get(name)
        return f"<#{found}|{name}>" if found else match.group(0)

    def user(match: re.Match[str]) -> str:
        handle = match.group(1)
        found = users.get(handle)
        return f"<@{found}|{handle}>" if found else match.group(0)

    return _USER_WORD.sub(user, _CHANNEL_WORD.sub(channel, escaped))
