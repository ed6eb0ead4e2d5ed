"""Small blocks shared by every area: notices, the "Return to Account" button, headers."""

from __future__ import annotations

from typing import Any

from bot.ui.ids import Act, Cb

Block = dict[str, Any]
Message = dict[str, Any]


def text_section(text: str, *, block_id: str | None = None) -> Block:
    block: Block = {"type": "section", "text": {"type": "mrkdwn", "text": text}}
    if block_id:
        block["block_id"] = block_id
    return block


def header(text: str) -> Block:
    return {"type": "header", "text": {"type": "plain_text", "text": text[:150]}}


def context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def divider() -> Block:
    return {"type": "divider"}


def button(
    text: str,
    action_id: str,
    *,
    value: str | None = None,
    style: str | None = None,
    url: str | None = None,
    confirm: dict[str, Any] | None = None,
) -> Block:
    element: Block = {
        "type": "button",
        "text": {"type": "plain_text", "text": text[:75]},
        "action_id": action_id,
    }
    if value is not None:
        element["value"] = value
    if style:
        element["style"] = style
    if url:
        element["url"] = url
    if confirm:
        element["confirm"] = confirm
    return element


def actions(*elements: Block, block_id: str | None = None) -> Block:
    block: Block = {"type": "actions", "elements": list(elements)}
    if block_id:
        block["block_id"] = block_id
    return block


def return_to_account() -> Block:
    return actions(button("Return to Account", Act.RETURN_TO_ACCOUNT))


def notice(text: str) -> Message:
    """A one-paragraph ephemeral answer (a refusal, an error) with the way back to the menu."""
    return {"text": text, "blocks": [text_section(text), return_to_account()]}


def success(text: str, *details: str) -> Message:
    """The end of a flow: what happened, details, and "Return to Account"."""
    blocks = [text_section(f":white_check_mark: {text}")]
    blocks.extend(context(detail) for detail in details)
    blocks.append(return_to_account())
    return {"text": text, "blocks": blocks}


def plain(text: str) -> dict[str, str]:
    return {"type": "plain_text", "text": text}


def modal(
    callback_id: str,
    title: str,
    blocks: list[Block],
    *,
    submit: str | None = None,
    close: str = "Cancel",
    private_metadata: str = "",
) -> dict[str, Any]:
    view: dict[str, Any] = {
        "type": "modal",
        "callback_id": callback_id,
        "title": plain(title[:24]),
        "close": plain(close),
        "blocks": blocks,
        "private_metadata": private_metadata,
    }
    if submit:
        view["submit"] = plain(submit)
    return view


def text_input(
    block_id: str,
    action_id: str,
    label: str,
    *,
    initial: str | None = None,
    placeholder: str | None = None,
    optional: bool = False,
    hint: str | None = None,
    dispatch: bool = False,
    max_length: int | None = None,
) -> Block:
    element: Block = {"type": "plain_text_input", "action_id": action_id}
    if initial:
        element["initial_value"] = initial
    if placeholder:
        element["placeholder"] = plain(placeholder)
    if max_length:
        element["max_length"] = max_length
    if dispatch:
        element["dispatch_action_config"] = {"trigger_actions_on": ["on_character_entered"]}
    block: Block = {
        "type": "input",
        "block_id": block_id,
        "label": plain(label),
        "element": element,
        "optional": optional,
    }
    if dispatch:
        block["dispatch_action"] = True
    if hint:
        block["hint"] = plain(hint)
    return block


def option(text: str, value: str) -> dict[str, Any]:
    return {"text": plain(text[:75]), "value": value}


def notice_modal(text: str, *, title: str = "Admin Portal") -> dict[str, Any]:
    """A modal that only says something (a refusal, a result), with a Close button."""
    return modal(Cb.NOTICE, title, [text_section(text)], close="Close")
