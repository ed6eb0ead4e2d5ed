"""Users: the list, "Add user", "Change role" and "Remove", the last admin protected, and no way
in for anyone but an admin."""

from __future__ import annotations

import time
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.sandbox.slack_api import RecordedCall
from bot.sandbox.slack_requests import static_select, users_select
from bot.ui import users as users_ui
from bot.ui.ids import Act, Blk, Cb
from store.enums import Role
from store.models import AccountUser, AuditEntry
from tests.slack.conftest import (
    ADMIN,
    FINANCE,
    STRANGER,
    VIEWER,
    WORKSPACE_ADMIN,
    Portal,
    action_ids,
    text_of,
)


def roles(app: Portal) -> dict[str, Role]:
    def read(session: Session) -> dict[str, Role]:
        return {u.slack_user_id: u.role for u in session.scalars(select(AccountUser))}

    return dict(app.read(read))


def audit_count(app: Portal) -> int:
    return int(app.read(lambda s: s.scalar(select(func.count()).select_from(AuditEntry))))


def opened_modal(app: Portal, user: str, callback_id: str) -> dict[str, Any]:
    app.fake.wait_for(
        "views.open",
        lambda call: (
            call.response.get("ok") is True and call.response["view"]["callback_id"] == callback_id
        ),
    )
    stack = app.fake.modal_stack(user)
    assert stack[-1]["callback_id"] == callback_id
    return stack[-1]


def wait_replies(
    app: Portal, contains: str, count: int, timeout: float = 5.0
) -> list[RecordedCall]:
    deadline = time.monotonic() + timeout
    while True:
        found = [c for c in app.replies() if contains in text_of(c.params)]
        if len(found) >= count or time.monotonic() > deadline:
            assert len(found) == count, f"{len(found)} answers contain {contains!r}"
            return found
        time.sleep(0.02)


def role_values(user: str | None, role: str | None) -> dict[str, Any]:
    return {
        Blk.USER: {Act.USER_INPUT: users_select(user)},
        Blk.ROLE: {Act.ROLE_INPUT: static_select(role)},
    }


def only_role(role: str | None) -> dict[str, Any]:
    return {Blk.ROLE: {Act.ROLE_INPUT: static_select(role)}}


# -- The list ------------------------------------------------------------------------------------


def test_the_list_shows_who_added_whom_and_when(app: Portal) -> None:
    app.make_account()
    app.command(ADMIN, "users")
    listing = app.wait_reply("<@UFIN> — *Finance*")
    text = text_of(listing.params)
    assert "<@UADMIN> — *Admin*" in text
    assert "<@UVIEW> — *Viewer*" in text
    assert "Added by <@UADMIN> <!date^" in text
    assert "|24 Nov 2026>" in text
    assert {Act.ADD_USER, Act.CHANGE_ROLE, Act.REMOVE_USER, Act.RETURN_TO_ACCOUNT} <= action_ids(
        listing.params
    )


@pytest.mark.parametrize("user", [FINANCE, VIEWER])
def test_others_see_the_list_without_buttons(app: Portal, user: str) -> None:
    app.make_account()
    app.sender.block_action(user, Act.MENU_USERS)
    listing = app.wait_reply("<@UADMIN> — *Admin*")
    assert listing.params["replace_original"] is True
    assert action_ids(listing.params) == {Act.RETURN_TO_ACCOUNT}


# -- Add user ------------------------------------------------------------------------------------


def test_an_admin_adds_a_user(app: Portal) -> None:
    app.make_account()
    app.command(ADMIN, "users")
    app.wait_reply("<@UFIN> — *Finance*")
    app.sender.block_action(ADMIN, Act.ADD_USER)
    modal = opened_modal(app, ADMIN, Cb.ADD_USER)

    response = app.sender.view_submission(ADMIN, modal, role_values(STRANGER, "finance"))
    assert not response.content.strip()
    assert app.fake.modal_stack(ADMIN) == []
    done = app.wait_reply("<@USTRANGER> has been added as Finance.")
    assert "<@USTRANGER> — *Finance*" in text_of(done.params)  # the list, refreshed
    assert Act.RETURN_TO_ACCOUNT in action_ids(done.params)
    assert roles(app)[STRANGER] is Role.FINANCE
    added_by = app.read(
        lambda s: s.scalar(
            select(AccountUser.added_by).where(AccountUser.slack_user_id == STRANGER)
        )
    )
    assert added_by == ADMIN

    # The new user can now use the portal.
    app.command(STRANGER)
    app.wait_reply("Admin Portal — Acme Widgets Ltd")


def test_adding_someone_twice_is_a_field_error(app: Portal) -> None:
    app.make_account()
    app.sender.block_action(ADMIN, Act.ADD_USER)
    modal = opened_modal(app, ADMIN, Cb.ADD_USER)
    before = (roles(app), audit_count(app))
    response = app.sender.view_submission(ADMIN, modal, role_values(FINANCE, "admin"))
    answer = response.json()
    assert answer["response_action"] == "errors"
    # By name: a modal's errors show no mentions.
    assert answer["errors"] == {Blk.USER: "fin is already a user of this account (finance)."}
    assert app.fake.view(modal["id"])["errors"] == answer["errors"]
    assert (roles(app), audit_count(app)) == before


@pytest.mark.parametrize(
    ("person", "says"),
    [
        ("UBOT", "is an app, not a person"),
        ("UNOBODY", "I can't find that person in this workspace."),
        (None, "Choose a person."),
    ],
)
def test_bots_and_unknown_users_are_refused(app: Portal, person: str | None, says: str) -> None:
    app.make_account()
    app.sender.block_action(ADMIN, Act.ADD_USER)
    modal = opened_modal(app, ADMIN, Cb.ADD_USER)
    before = (roles(app), audit_count(app))
    response = app.sender.view_submission(ADMIN, modal, role_values(person, "viewer"))
    errors = response.json()["errors"]
    assert list(errors) == [Blk.USER]
    assert says in errors[Blk.USER]
    assert (roles(app), audit_count(app)) == before


def test_a_role_must_be_chosen(app: Portal) -> None:
    app.make_account()
    app.sender.block_action(ADMIN, Act.ADD_USER)
    modal = opened_modal(app, ADMIN, Cb.ADD_USER)
    for role in (None, "owner"):
        response = app.sender.view_submission(ADMIN, modal, role_values(STRANGER, role))
        assert list(response.json()["errors"]) == [Blk.ROLE]
    assert STRANGER not in roles(app)


# -- Change role ---------------------------------------------------------------------------------


def test_an_admin_changes_a_role(app: Portal) -> None:
    app.make_account()
    app.sender.block_action(ADMIN, Act.CHANGE_ROLE, value=VIEWER)
    modal = opened_modal(app, ADMIN, Cb.CHANGE_ROLE)
    assert modal["private_metadata"] == VIEWER
    assert modal["blocks"][1]["element"]["initial_option"]["value"] == "viewer"

    app.sender.view_submission(ADMIN, modal, only_role("admin"))
    done = app.wait_reply("<@UVIEW> is now Admin.")
    assert "<@UVIEW> — *Admin*" in text_of(done.params)
    assert roles(app)[VIEWER] is Role.ADMIN


def test_the_last_admin_cannot_be_demoted_or_removed(app: Portal) -> None:
    app.make_account()
    before = (roles(app), audit_count(app))
    app.sender.block_action(ADMIN, Act.CHANGE_ROLE, value=ADMIN)
    modal = opened_modal(app, ADMIN, Cb.CHANGE_ROLE)
    response = app.sender.view_submission(ADMIN, modal, only_role("viewer"))
    assert response.json()["response_action"] == "update"
    assert "the account's only admin" in text_of(response.json()["view"])

    app.sender.block_action(ADMIN, Act.REMOVE_USER, value=ADMIN)
    app.wait_reply("is the account's only admin and cannot be removed")
    assert (roles(app), audit_count(app)) == before

    # With a second admin, the first may step down.
    app.sender.block_action(ADMIN, Act.CHANGE_ROLE, value=FINANCE)
    app.sender.view_submission(ADMIN, opened_modal(app, ADMIN, Cb.CHANGE_ROLE), only_role("admin"))
    app.wait_reply("<@UFIN> is now Admin.")
    app.fake.clear()
    app.sender.block_action(ADMIN, Act.CHANGE_ROLE, value=ADMIN)
    app.sender.view_submission(ADMIN, opened_modal(app, ADMIN, Cb.CHANGE_ROLE), only_role("viewer"))
    stepped_down = app.wait_reply("<@UADMIN> is now Viewer.")
    assert action_ids(stepped_down.params) == {Act.RETURN_TO_ACCOUNT}  # no admin buttons now
    assert roles(app)[ADMIN] is Role.VIEWER


def test_change_role_for_someone_who_is_not_a_user(app: Portal) -> None:
    app.make_account()
    app.sender.block_action(ADMIN, Act.CHANGE_ROLE, value=STRANGER)
    app.wait_reply("<@USTRANGER> is not a user of this account")
    assert app.fake.calls("views.open") == []
    crafted = app.sender.view_submission(
        ADMIN, users_ui.change_role_modal(STRANGER, Role.VIEWER), only_role("admin")
    )
    assert "is not a user of this account" in text_of(crafted.json())
    assert STRANGER not in roles(app)


# -- Remove --------------------------------------------------------------------------------------


def test_an_admin_removes_a_user(app: Portal) -> None:
    app.make_account()
    app.command(ADMIN, "users")
    listing = app.wait_reply("<@UVIEW> — *Viewer*")
    remove = next(
        element
        for block in listing.params["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
        if element["action_id"] == Act.REMOVE_USER and element["value"] == VIEWER
    )
    assert remove["confirm"]["confirm"]["text"] == "Remove"  # Slack asks first

    app.sender.block_action(ADMIN, Act.REMOVE_USER, value=VIEWER)
    done = app.wait_reply("<@UVIEW> has been removed from the account.")
    assert done.params["replace_original"] is True  # the list, refreshed in place
    assert "<@UVIEW> — " not in text_of(done.params)
    assert VIEWER not in roles(app)

    app.command(VIEWER, "credits")
    app.wait_reply("You don't have access to this account's Admin Portal")


# -- Paging --------------------------------------------------------------------------------------


def test_a_long_list_pages(app: Portal) -> None:
    app.make_account()
    with app.session() as session:
        for n in range(25):
            session.add(
                AccountUser(
                    account_id=app.account().id,
                    slack_user_id=f"UMANY{n:02d}",
                    role=Role.VIEWER,
                    added_by=ADMIN,
                    added_at=app.clock(),
                )
            )
    app.command(ADMIN, "users 2")
    second = app.wait_reply("Page 2 of 2 · 28 users")
    assert "<@UMANY24>" in text_of(second.params)
    app.sender.block_action(ADMIN, Act.USERS_PAGE, value="1")
    first = app.wait_reply("Page 1 of 2 · 28 users")
    assert first.params["replace_original"] is True
    assert "<@UADMIN> — *Admin*" in text_of(first.params)


# -- Nobody but an admin changes users, by any route ---------------------------------------------


@pytest.mark.parametrize(
    ("user", "refusal"),
    [
        (FINANCE, "Only an account admin can do that; you are a finance."),
        (VIEWER, "Only an account admin can do that; you are a viewer."),
        (STRANGER, "You don't have access to this account's Admin Portal."),
        (WORKSPACE_ADMIN, "You don't have access to this account's Admin Portal."),
    ],
)
def test_no_user_changes_for_others_by_any_route(app: Portal, user: str, refusal: str) -> None:
    app.make_account()
    before = (roles(app), audit_count(app))

    app.sender.block_action(user, Act.ADD_USER)
    app.sender.block_action(user, Act.CHANGE_ROLE, value=ADMIN)
    app.sender.block_action(user, Act.REMOVE_USER, value=ADMIN)
    app.sender.block_action(user, Act.REMOVE_USER, value=VIEWER)
    wait_replies(app, refusal, 4)

    for view, entered in (
        (users_ui.add_user_modal(), role_values(user, "admin")),
        (users_ui.change_role_modal(user, Role.VIEWER), only_role("admin")),
        (users_ui.change_role_modal(ADMIN, Role.ADMIN), only_role("viewer")),
    ):
        answer = app.sender.view_submission(user, view, entered).json()
        assert answer["response_action"] == "update"
        assert refusal in text_of(answer["view"])

    assert (roles(app), audit_count(app)) == before
    assert app.fake.calls("views.open") == []
    assert app.fake.calls("users.info") == []  # nobody was looked up for them
