"""The Users list, "Add user" and "Change role": who may use the portal, and as what."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.ui.common import (
    Block,
    Message,
    actions,
    button,
    context,
    header,
    modal,
    notice,
    option,
    plain,
    return_to_account,
    text_section,
)
from bot.ui.ids import Act, Blk, Cb
from store.enums import Role
from store.models import AccountUser

PAGE_SIZE = 20  # two blocks a user: 20 a page keeps a message under Slack's 50 blocks

ROLE_NAMES: dict[Role, str] = {Role.ADMIN: "Admin", Role.FINANCE: "Finance", Role.VIEWER: "Viewer"}
ROLE_DESCRIPTIONS: dict[Role, str] = {
    Role.ADMIN: "Everything, including users, passwords and contact details",
    Role.FINANCE: "View, buy credits, create service invoices and pay",
    Role.VIEWER: "View only",
}


ROLE_HINT = " ".join(f"{ROLE_NAMES[role]}: {ROLE_DESCRIPTIONS[role].lower()}." for role in Role)


def role_option(role: Role) -> dict[str, Any]:
    return option(ROLE_NAMES[role], role.value)


def _role_select(initial: Role | None) -> Block:
    element: Block = {
        "type": "static_select",
        "action_id": Act.ROLE_INPUT,
        "placeholder": plain("Choose a role"),
        "options": [role_option(role) for role in Role],
    }
    if initial is not None:
        element["initial_option"] = role_option(initial)
    return {
        "type": "input",
        "block_id": Blk.ROLE,
        "label": plain("Role"),
        "element": element,
        "optional": False,
        "hint": plain(ROLE_HINT),
    }


def _slack_date(moment_ts: int, fallback: str) -> str:
    """A date Slack shows in each reader's own time zone."""
    return f"<!date^{moment_ts}^{{date_short_pretty}}|{fallback}>"


def user_line(member: AccountUser) -> str:
    added = member.added_at
    when = _slack_date(int(added.timestamp()), f"{added.day} {added:%b %Y}")
    return (
        f"<@{member.slack_user_id}> — *{ROLE_NAMES[member.role]}*\n"
        f"Added by <@{member.added_by}> {when}"
    )


def page_count(total: int) -> int:
    return max(1, -(-total // PAGE_SIZE))


def users_message(
    members: Sequence[AccountUser],
    *,
    can_manage: bool,
    page: int = 1,
    banner: str | None = None,
) -> Message:
    """The account's users, a page at a time; admins get "Add user" and per-user buttons.

    `banner` is a success line shown above the list (after adding, changing or removing).
    """
    pages = page_count(len(members))
    page = min(max(page, 1), pages)
    shown = members[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    blocks: list[Block] = []
    if banner:
        blocks.append(text_section(f":white_check_mark: {banner}"))
    blocks.append(header("Users"))
    if can_manage:
        blocks.append(actions(button("Add user", Act.ADD_USER, style="primary")))
    for member in shown:
        blocks.append(text_section(user_line(member)))
        if can_manage:
            user_id = member.slack_user_id
            blocks.append(
                actions(
                    button("Change role", Act.CHANGE_ROLE, value=user_id),
                    button(
                        "Remove", Act.REMOVE_USER, value=user_id, confirm=_remove_confirm(user_id)
                    ),
                )
            )
    if pages > 1:
        blocks.append(context(f"Page {page} of {pages} · {len(members)} users"))
        # One button per actions block: action ids must be unique within a block.
        if page > 1:
            blocks.append(actions(button("Previous", Act.USERS_PAGE, value=str(page - 1))))
        if page < pages:
            blocks.append(actions(button("Next", Act.USERS_PAGE, value=str(page + 1))))
    blocks.append(return_to_account())
    return {"text": banner or "Users", "blocks": blocks}


def _remove_confirm(user_id: str) -> dict[str, Any]:
    return {
        "title": plain("Remove user?"),
        "text": {
            "type": "mrkdwn",
            "text": f"<@{user_id}> will no longer be able to use the Admin Portal.",
        },
        "confirm": plain("Remove"),
        "deny": plain("Cancel"),
        "style": "danger",
    }


def add_user_modal() -> dict[str, Any]:
    blocks: list[Block] = [
        {
            "type": "input",
            "block_id": Blk.USER,
            "label": plain("Person"),
            "element": {
                "type": "users_select",
                "action_id": Act.USER_INPUT,
                "placeholder": plain("Choose someone in this workspace"),
            },
            "optional": False,
        },
        _role_select(None),
    ]
    return modal(Cb.ADD_USER, "Add user", blocks, submit="Add user")


def change_role_modal(slack_user_id: str, current: Role) -> dict[str, Any]:
    blocks: list[Block] = [
        text_section(f"Choose the new role of <@{slack_user_id}>."),
        _role_select(current),
    ]
    return modal(
        Cb.CHANGE_ROLE, "Change role", blocks, submit="Change role", private_metadata=slack_user_id
    )


def user_added(member: AccountUser) -> str:
    return f"<@{member.slack_user_id}> has been added as {ROLE_NAMES[member.role]}."


def role_changed(member: AccountUser) -> str:
    return f"<@{member.slack_user_id}> is now {ROLE_NAMES[member.role]}."


def user_removed(slack_user_id: str) -> str:
    return f"<@{slack_user_id}> has been removed from the account."


def not_a_user(slack_user_id: str) -> Message:
    return notice(f"<@{slack_user_id}> is not a user of this account (any more).")
