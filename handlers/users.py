"""Users: the list (everyone with a role), and for admins "Add user", "Change role", "Remove".

Seeing the list needs Action.VIEW; every change needs Action.MANAGE_USERS, checked again when
a form is submitted. The last admin rule lives in `bot.users`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.orm import Session

from bot import notifications
from bot.deps import Deps
from bot.errors import FieldError
from bot.portal import Visitor
from bot.roles import Action, can
from bot.ui import finance as finance_ui
from bot.ui import users as users_ui
from bot.ui.common import Message
from bot.ui.ids import Act, Blk, Cb
from bot.users import add_user, change_role, list_users, remove_user, role_of
from handlers._support import (
    Answer,
    Request,
    Who,
    field_value,
    guard,
    in_place,
    on_button,
    submit_then_send,
    unit_of_work,
    who,
)
from store.enums import Role


@dataclass(frozen=True, slots=True)
class RoleForm:
    """The "Add user" or "Change role" form, as submitted."""

    slack_user_id: str
    role: Role

    @classmethod
    def parse(cls, view: dict[str, Any], *, slack_user_id: str) -> RoleForm:
        if not slack_user_id:
            raise FieldError(Blk.USER, "Choose a person.")
        chosen = field_value(view, Blk.ROLE, Act.ROLE_INPUT, "selected_option")
        try:
            role = Role(chosen)
        except ValueError:
            raise FieldError(Blk.ROLE, "Choose a role: Admin, Finance or Viewer.") from None
        return cls(slack_user_id=slack_user_id, role=role)


def _button_value(req: Request) -> str:
    actions = req.body.get("actions") or [{}]
    return str(actions[0].get("value") or "")


def _page(text: str) -> int:
    text = text.strip()
    return int(text) if text.isdigit() and len(text) < 6 else 1


def _listing(
    session: Session, visitor: Visitor, *, page: int = 1, banner: str | None = None
) -> Message:
    """The list as `visitor` may see it now (after a change, their own role is read again)."""
    account = visitor.require(Action.VIEW)
    role = role_of(session=session, account_id=account.id, slack_user_id=visitor.user_id)
    return users_ui.users_message(
        list_users(session=session, account_id=account.id),
        can_manage=can(role, Action.MANAGE_USERS),
        page=page,
        banner=banner,
    )


def _notice(session: Session, account_id: int, message: Message) -> list[tuple[str, Message]]:
    """The finance channel's notice of a change of users, where its settings send it."""
    return notifications.notices_for(
        session=session, account_id=account_id, kind=notifications.Kind.USERS, message=message
    )


# -- The list ------------------------------------------------------------------------------------


def show_users(deps: Deps, req: Request) -> None:
    """`/portal users [page]`, the menu's "Users", and the list's page buttons."""
    page = _page(_button_value(req) if in_place(req) else req.args)
    with unit_of_work(deps, req.origin) as (session, visitor):
        message = _listing(session, visitor, page=page)
    req.reply(message, replace=in_place(req))


# -- Add user ------------------------------------------------------------------------------------


def _require_user_admin(deps: Deps, origin: Who) -> None:
    with unit_of_work(deps, origin) as (_session, visitor):
        visitor.require(Action.MANAGE_USERS)


def open_add_user(deps: Deps, req: Request) -> None:
    _require_user_admin(deps, req.origin)
    req.open_modal(users_ui.add_user_modal())


def check_person(client: WebClient, slack_user_id: str) -> str | None:
    """Only a person in this workspace can be a user: no apps, bots or deactivated accounts.

    Returns the person's name in Slack, if they have one, for the modal's errors (which show
    no mentions)."""
    try:
        person = client.users_info(user=slack_user_id)["user"]
    except SlackApiError as exc:
        if exc.response.get("error") == "user_not_found":
            raise FieldError(Blk.USER, "I can't find that person in this workspace.") from exc
        raise
    name: str | None = person.get("real_name") or person.get("name") or None
    called = name or "That account"
    if person.get("is_bot") or person.get("is_app_user") or slack_user_id == "USLACKBOT":
        raise FieldError(Blk.USER, f"{called} is an app, not a person: choose a person.")
    if person.get("deleted"):
        raise FieldError(Blk.USER, f"{called}'s Slack account has been deactivated.")
    return name


def _on_add_user_submitted(
    deps: Deps, ack: Ack, body: dict[str, Any], client: WebClient, respond: Any
) -> None:
    req = Request(body=body, client=client, respond=respond, origin=who(body))
    view = body["view"]
    notices: list[tuple[str, Message]] = []  # posted once the person has their answer

    def work() -> Answer:
        chosen = field_value(view, Blk.USER, Act.USER_INPUT, "selected_user")
        form = RoleForm.parse(view, slack_user_id=chosen)
        _require_user_admin(deps, req.origin)  # before asking Slack about anyone
        name = check_person(client, form.slack_user_id)
        with unit_of_work(deps, req.origin) as (session, visitor):
            member = add_user(
                session=session,
                account=visitor.require(Action.MANAGE_USERS),
                slack_user_id=form.slack_user_id,
                role=form.role,
                added_by=req.origin.user_id,
                now=deps.clock(),
                name=name,
            )
            session.flush()
            message = _listing(session, visitor, banner=users_ui.user_added(member))
            notices.extend(
                _notice(
                    session,
                    member.account_id,
                    finance_ui.user_added_notice(
                        by=f"<@{req.origin.user_id}>",
                        user_id=member.slack_user_id,
                        role=member.role.value.title(),
                    ),
                )
            )
        return Answer(replies=(message,))

    submit_then_send(ack, req, work)
    notifications.send_notices(client, notices)


# -- Change role ---------------------------------------------------------------------------------


def open_change_role(deps: Deps, req: Request) -> None:
    slack_user_id = _button_value(req)
    with unit_of_work(deps, req.origin) as (session, visitor):
        account = visitor.require(Action.MANAGE_USERS)
        current = role_of(session=session, account_id=account.id, slack_user_id=slack_user_id)
    if current is None:
        req.reply(users_ui.not_a_user(slack_user_id))
        return
    req.open_modal(users_ui.change_role_modal(slack_user_id, current))


def _on_change_role_submitted(
    deps: Deps, ack: Ack, body: dict[str, Any], client: WebClient, respond: Any
) -> None:
    req = Request(body=body, client=client, respond=respond, origin=who(body))
    view = body["view"]
    notices: list[tuple[str, Message]] = []  # posted once the person has their answer

    def work() -> Answer:
        form = RoleForm.parse(view, slack_user_id=str(view.get("private_metadata") or ""))
        with unit_of_work(deps, req.origin) as (session, visitor):
            member = change_role(
                session=session,
                account=visitor.require(Action.MANAGE_USERS),
                slack_user_id=form.slack_user_id,
                role=form.role,
                actor=req.origin.user_id,
                now=deps.clock(),
            )
            session.flush()
            message = _listing(session, visitor, banner=users_ui.role_changed(member))
            notices.extend(
                _notice(
                    session,
                    member.account_id,
                    finance_ui.role_changed_notice(
                        by=f"<@{req.origin.user_id}>",
                        user_id=member.slack_user_id,
                        role=member.role.value.title(),
                    ),
                )
            )
        return Answer(replies=(message,))

    submit_then_send(ack, req, work)
    notifications.send_notices(client, notices)


# -- Remove --------------------------------------------------------------------------------------


def remove(deps: Deps, req: Request) -> None:
    """The "Remove" button (after Slack's confirm dialog): the list comes back without them."""
    slack_user_id = _button_value(req)
    with unit_of_work(deps, req.origin) as (session, visitor):
        account = visitor.require(Action.MANAGE_USERS)
        remove_user(
            session=session,
            account=account,
            slack_user_id=slack_user_id,
            actor=req.origin.user_id,
            now=deps.clock(),
        )
        session.flush()
        message = _listing(session, visitor, banner=users_ui.user_removed(slack_user_id))
        notices = _notice(
            session,
            account.id,
            finance_ui.user_removed_notice(by=f"<@{req.origin.user_id}>", user_id=slack_user_id),
        )
    req.reply(message, replace=in_place(req))
    notifications.send_notices(req.client, notices)


# -- Wiring --------------------------------------------------------------------------------------


def register(app: App, deps: Deps) -> None:
    """Wire this area's ids to their listeners."""
    app.action(Act.USERS_PAGE)(guard(partial(on_button, show_users, deps)))
    app.action(Act.ADD_USER)(guard(partial(on_button, open_add_user, deps)))
    app.action(Act.CHANGE_ROLE)(guard(partial(on_button, open_change_role, deps)))
    app.action(Act.REMOVE_USER)(guard(partial(on_button, remove, deps)))
    app.view(Cb.ADD_USER)(guard(partial(_on_add_user_submitted, deps)))
    app.view(Cb.CHANGE_ROLE)(guard(partial(_on_change_role_submitted, deps)))
