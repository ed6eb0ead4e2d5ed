"""Account set-up, the Account view, contact details, password link and VAT: ack, parse, one
service call, render, send. Payment details are `handlers/payments.py`'s, the finance channel
`handlers/finance.py`'s.

Every entry point checks the person's role in its own unit of work (view submissions again at
submission time); passwords are never typed into Slack, only on the secure pages the one-time
links lead to, which are posted to the one person who asked.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import notifications
from bot.accounts import (
    parse_account_setup,
    set_up_account,
    set_vat_details,
    update_contact_details,
)
from bot.countries import country_names
from bot.dashboard import dashboard
from bot.deps import Deps
from bot.errors import FieldError, PermissionDenied
from bot.links import issue_link, password_window_open
from bot.roles import Action, can
from bot.ui import account as account_ui
from bot.ui import finance as finance_ui
from bot.ui import menu
from bot.ui.common import Message
from bot.ui.ids import Act, Blk, Cb
from handlers._support import (
    Answer,
    Entry,
    Request,
    field_value,
    guard,
    in_place,
    on_button,
    submit_then_send,
    unit_of_work,
    who,
)
from store.enums import LinkPurpose, Role

_WORKSPACE_ADMIN_FLAGS = ("is_admin", "is_owner", "is_primary_owner")

# -- Account set-up ------------------------------------------------------------------------------


def is_workspace_admin(client: WebClient, user_id: str) -> bool:
    """Whether Slack says `user_id` is an admin or owner of the workspace (users.info)."""
    try:
        user = client.users_info(user=user_id)["user"]
    except SlackApiError as exc:
        if exc.response.get("error") == "user_not_found":
            return False
        raise
    if user.get("deleted") or user.get("is_bot"):
        return False
    return any(user.get(flag) for flag in _WORKSPACE_ADMIN_FLAGS)


def offer_set_up(deps: Deps, req: Request) -> None:
    """The workspace has no account: offer "Set up account" to a workspace admin or owner."""
    admin = is_workspace_admin(req.client, req.origin.user_id)
    req.reply(account_ui.set_up_offer() if admin else account_ui.set_up_refused())


def open_set_up(deps: Deps, req: Request) -> None:
    if not is_workspace_admin(req.client, req.origin.user_id):
        req.reply(account_ui.set_up_refused())
        return
    with unit_of_work(deps, req.origin) as (_session, visitor):
        exists = visitor.account is not None
    if exists:
        req.reply(account_ui.already_set_up())
        return
    req.open_modal(account_ui.set_up_modal())


def _team_name(body: dict[str, Any]) -> str:
    team = body.get("team") or {}
    return str(team.get("domain") or team.get("id") or "")


def _on_set_up_submitted(
    deps: Deps, ack: Ack, body: dict[str, Any], client: WebClient, respond: Any
) -> None:
    req = Request(body=body, client=client, respond=respond, origin=who(body))
    view = body["view"]

    def work() -> Answer:
        if not is_workspace_admin(client, req.origin.user_id):
            raise PermissionDenied(account_ui.SET_UP_ADMINS_ONLY)
        setup = parse_account_setup(
            company_name=field_value(view, Blk.COMPANY_NAME, Act.COMPANY_NAME_INPUT),
            country=field_value(view, Blk.COUNTRY, Act.COUNTRY_INPUT, "selected_option"),
            contact_email=field_value(view, Blk.EMAIL, Act.EMAIL_INPUT),
            vat_reference=field_value(view, Blk.VAT_REFERENCE, Act.VAT_REFERENCE_INPUT),
        )
        now = deps.clock()
        with unit_of_work(deps, req.origin) as (session, _visitor):
            account = set_up_account(
                session=session,
                team_id=req.origin.team_id,
                team_name=_team_name(body),
                setup=setup,
                admin_user_id=req.origin.user_id,
                now=now,
            )
            url = issue_link(
                session=session,
                settings=deps.settings,
                account_id=account.id,
                slack_user_id=req.origin.user_id,
                purpose=LinkPurpose.SET_PASSWORD,
                channel_id=None,
                now=now,
            )
            board = dashboard(session=session, account=account, role=Role.ADMIN, today=now.date())
            created = account_ui.account_created(account.company_name, url)
        return Answer(replies=(created, menu.menu_message(board)))

    submit_then_send(ack, req, work)


def _on_country_suggestion(deps: Deps, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
    """The country list, filtered by what was typed: for set-up, or for VAT details."""
    origin = who(body)
    with unit_of_work(deps, origin) as (_session, visitor):
        has_account = visitor.account is not None
        try:
            visitor.require(Action.SET_VAT_DETAILS)
            allowed = True
        except PermissionDenied:
            allowed = False
    if not has_account:
        allowed = is_workspace_admin(client, origin.user_id)
    query = str(body.get("value") or "")
    groups = account_ui.country_option_groups(country_names(), query) if allowed else []
    if groups:
        ack(option_groups=groups)
    else:
        ack(options=[])


# -- The Account view ----------------------------------------------------------------------------


def show_account(deps: Deps, req: Request) -> None:
    with unit_of_work(deps, req.origin) as (_session, visitor):
        account = visitor.require(Action.VIEW)
        message = account_ui.account_message(
            account,
            countries=country_names(),
            can_edit=can(visitor.role, Action.UPDATE_CONTACT_DETAILS),
        )
    req.reply(message, replace=in_place(req))


# -- Contact details and the password --------------------------------------------------------------


def open_contact_details(deps: Deps, req: Request) -> None:
    """The "Update email address/contact details" button: the form when the password was
    confirmed in the last 15 minutes, else the "Enter your password" link first."""
    now = deps.clock()
    with unit_of_work(deps, req.origin) as (session, visitor):
        account = visitor.require(Action.UPDATE_CONTACT_DETAILS)
        if password_window_open(
            session=session, account_id=account.id, slack_user_id=req.origin.user_id, now=now
        ):
            form: dict[str, Any] | None = account_ui.contact_details_modal(account)
            message = None
        else:
            form = None
            message = account_ui.confirm_password_link(
                issue_link(
                    session=session,
                    settings=deps.settings,
                    account_id=account.id,
                    slack_user_id=req.origin.user_id,
                    purpose=LinkPurpose.CONFIRM_PASSWORD,
                    channel_id=req.origin.channel_id,
                    now=now,
                )
            )
    if form is not None:
        req.open_modal(form)
    if message is not None:
        req.reply(message)


@dataclass(frozen=True, slots=True)
class ContactDetailsForm:
    """The "Update Details" form: blank keeps the current value, but not both blank."""

    email: str
    phone: str

    @classmethod
    def parse(cls, view: dict[str, Any]) -> ContactDetailsForm:
        form = cls(
            email=field_value(view, Blk.EMAIL, Act.EMAIL_INPUT).strip(),
            phone=field_value(view, Blk.PHONE, Act.PHONE_INPUT).strip(),
        )
        if not form.email and not form.phone:
            raise FieldError(
                Blk.EMAIL,
                "Enter a new email address or contact number, or press Cancel to keep both.",
            )
        return form


def _on_contact_details_submitted(
    deps: Deps, ack: Ack, body: dict[str, Any], client: WebClient, respond: Any
) -> None:
    req = Request(body=body, client=client, respond=respond, origin=who(body))
    view = body["view"]

    notices: list[tuple[str, Message]] = []  # posted once the person has their answer

    def work() -> Answer:
        form = ContactDetailsForm.parse(view)
        now = deps.clock()
        user_id = req.origin.user_id
        with unit_of_work(deps, req.origin) as (session, visitor):
            account = visitor.require(Action.UPDATE_CONTACT_DETAILS)
            if not password_window_open(
                session=session, account_id=account.id, slack_user_id=user_id, now=now
            ):
                url = issue_link(
                    session=session,
                    settings=deps.settings,
                    account_id=account.id,
                    slack_user_id=user_id,
                    purpose=LinkPurpose.CONFIRM_PASSWORD,
                    channel_id=None,
                    now=now,
                )
                return Answer(
                    response={
                        "response_action": "update",
                        "view": account_ui.password_needed_modal(),
                    },
                    replies=(account_ui.confirm_password_link(url),),
                )
            before = (account.contact_email, account.contact_phone)
            changed = update_contact_details(
                session=session,
                account=account,
                email=form.email,
                phone=form.phone,
                actor=user_id,
                now=now,
            )
            message = account_ui.contact_details_updated(account, changed=changed)
            if changed:
                notices.extend(
                    notifications.notices_for(
                        session=session,
                        account_id=account.id,
                        kind=notifications.Kind.CONTACT_DETAILS,
                        message=finance_ui.contact_details_notice(
                            by=f"<@{user_id}>",
                            fields=_changed(before, (account.contact_email, account.contact_phone)),
                        ),
                    )
                )
        return Answer(replies=(message,))

    submit_then_send(ack, req, work)
    notifications.send_notices(client, notices)  # the finance channel, after the person


def _changed(before: tuple[str, str | None], after: tuple[str, str | None]) -> list[str]:
    names = ("email address", "contact number")
    return [name for name, old, new in zip(names, before, after, strict=True) if old != new]


def send_change_password_link(deps: Deps, req: Request) -> None:
    """The "Change password" link to the secure page, for this person alone."""
    with unit_of_work(deps, req.origin) as (session, visitor):
        account = visitor.require(Action.CHANGE_PASSWORD)
        url = issue_link(
            session=session,
            settings=deps.settings,
            account_id=account.id,
            slack_user_id=req.origin.user_id,
            purpose=LinkPurpose.CHANGE_PASSWORD,
            channel_id=req.origin.channel_id,
            now=deps.clock(),
        )
    req.reply(account_ui.change_password_link(url))


# -- VAT reference -------------------------------------------------------------------------------


def open_vat_details(deps: Deps, req: Request) -> None:
    with unit_of_work(deps, req.origin) as (_session, visitor):
        account = visitor.require(Action.SET_VAT_DETAILS)
        form = account_ui.vat_details_modal(account, countries=country_names())
    req.open_modal(form)


def _on_vat_details_submitted(
    deps: Deps, ack: Ack, body: dict[str, Any], client: WebClient, respond: Any
) -> None:
    req = Request(body=body, client=client, respond=respond, origin=who(body))
    view = body["view"]

    def work() -> Answer:
        country = field_value(view, Blk.COUNTRY, Act.COUNTRY_INPUT, "selected_option")
        reference = field_value(view, Blk.VAT_REFERENCE, Act.VAT_REFERENCE_INPUT)
        with unit_of_work(deps, req.origin) as (session, visitor):
            account = visitor.require(Action.SET_VAT_DETAILS)
            set_vat_details(
                session=session,
                account=account,
                country=country,
                vat_reference=reference,
                actor=req.origin.user_id,
                now=deps.clock(),
            )
            message = account_ui.vat_details_updated(account, countries=country_names())
        return Answer(replies=(message,))

    submit_then_send(ack, req, work)


# -- Wiring --------------------------------------------------------------------------------------


def register(app: App, deps: Deps) -> None:
    """Wire this area's ids to their listeners."""
    buttons: dict[Act, Entry] = {
        Act.SET_UP_ACCOUNT: open_set_up,
        Act.UPDATE_CONTACT_DETAILS: open_contact_details,
        Act.CHANGE_PASSWORD: send_change_password_link,
        Act.EDIT_VAT: open_vat_details,
    }
    for action_id, entry in buttons.items():
        app.action(action_id)(guard(partial(on_button, entry, deps)))
    app.options(Act.COUNTRY_INPUT)(guard(partial(_on_country_suggestion, deps)))
    app.view(Cb.SET_UP_ACCOUNT)(guard(partial(_on_set_up_submitted, deps)))
    app.view(Cb.CONTACT_DETAILS)(guard(partial(_on_contact_details_submitted, deps)))
    app.view(Cb.VAT_DETAILS)(guard(partial(_on_vat_details_submitted, deps)))
