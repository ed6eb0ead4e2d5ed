"""The secure pages: confirm, change and set the account password, outside Slack.

No password is ever typed into Slack (docs/adr/0003-no-passwords-in-slack.md): the bot posts a
one-time link (`bot.links`) and the person types the password here. Each request is one
transaction; Slack is told after it commits, and a failed Slack call never undoes a change.
Passwords are never logged, audited, put in an error message or echoed back into a form.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any, Protocol
from urllib.parse import urlsplit

from flask import Blueprint, Response, make_response, render_template, request
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException

from bot import audit, links, notifications, passwords, rate_limit
from bot.deps import Deps
from bot.errors import FieldError, PermissionDenied, UserFacingError
from bot.roles import Action
from bot.roles import require as require_role
from bot.settings import Settings
from bot.ui import common
from bot.ui.ids import PORTAL_COMMAND, Act
from bot.users import role_of
from store.db import transaction, unreachable
from store.enums import LinkPurpose
from store.models import Account, OneTimeLink, PasswordCredential

log = logging.getLogger(__name__)

CSRF_FIELD = "csrf_token"
PASSWORD_FIELD = "password"  # noqa: S105 - form field names
CURRENT_PASSWORD_FIELD = "current_password"  # noqa: S105
NEW_PASSWORD_FIELD = passwords.NEW_PASSWORD_FIELD
CONFIRM_PASSWORD_FIELD = "confirm_password"  # noqa: S105
MAX_FIELD_LENGTH = passwords.MAX_LENGTH
MAX_BODY_BYTES = 16 * 1024  # three password fields and a CSRF token, with room to spare
_CSRF_BYTES = 32
_MAX_CSRF_LENGTH = 100

CHANGED = "Your password has been successfully updated."
STRENGTH_RULE = (
    f"At least {passwords.MIN_LENGTH} characters, without the company name or email address. "
    "A few unrelated words work well."
)

# Who may open each page, checked again on every request: a role removed after the link was
# sent takes effect at once. Confirming is open to any member; the Slack side checks the action.
_ALLOWED: dict[LinkPurpose, Action] = {
    LinkPurpose.CONFIRM_PASSWORD: Action.VIEW,
    LinkPurpose.CHANGE_PASSWORD: Action.CHANGE_PASSWORD,
    LinkPurpose.SET_PASSWORD: Action.CHANGE_PASSWORD,
}


# ----------------------------------------------------------------------------------------------
# Security headers
# ----------------------------------------------------------------------------------------------


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def is_https(settings: Settings) -> bool:
    return (settings.PUBLIC_BASE_URL or "").lower().startswith("https://")


def security_headers(settings: Settings, *, stripe: bool = False) -> dict[str, str]:
    """The headers every secure page sends. `stripe=True` lets in Stripe.js (card pages)."""
    policy = {
        "default-src": "'none'",
        "style-src": "'self'",
        "img-src": "'self'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
        "base-uri": "'none'",
    }
    if stripe:
        js = _origin(settings.STRIPE_JS_URL)
        frames = [js]
        if js == "https://js.stripe.com":
            frames.append("https://hooks.stripe.com")  # Stripe's 3-D Secure frames
        policy["script-src"] = js
        policy["frame-src"] = " ".join(frames)
        policy["connect-src"] = _origin(settings.STRIPE_API_BASE)
    headers = {
        "Content-Security-Policy": "; ".join(f"{name} {value}" for name, value in policy.items()),
        "X-Frame-Options": "DENY",
        "Cache-Control": "no-store",
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "Cross-Origin-Opener-Policy": "same-origin",
    }
    if is_https(settings):
        headers["Strict-Transport-Security"] = "max-age=31536000"
    return headers


# ----------------------------------------------------------------------------------------------
# What the pages send to Slack (pure builders)
# ----------------------------------------------------------------------------------------------


def password_confirmed_message(*, until: str) -> common.Message:
    text = (
        "Your password is confirmed: you can update the contact details for the next "
        f"15 minutes (until {until})."
    )
    return {
        "text": text,
        "blocks": [
            common.text_section(f":white_check_mark: {text}"),
            common.actions(
                common.button(
                    "Update contact details", Act.UPDATE_CONTACT_DETAILS, style="primary"
                ),
                common.button("Return to Account", Act.RETURN_TO_ACCOUNT),
            ),
        ],
    }


def password_changed_message() -> common.Message:
    return common.success(CHANGED)


def password_set_message() -> common.Message:
    return common.success(
        "The Admin Portal password is set.",
        "You will be asked for it before sensitive changes, such as the contact details.",
    )


def password_changed_notice(*, user_id: str, first: bool) -> common.Message:
    """What the account's finance channel is told."""
    text = f"The Admin Portal password was {'set' if first else 'changed'} by <@{user_id}>."
    return {"text": text, "blocks": [common.text_section(f":lock: {text}")]}


# ----------------------------------------------------------------------------------------------
# One request
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _SlackMessage:
    """A message to send once the transaction has committed."""

    channel: str
    message: common.Message
    ephemeral_for: str | None = None  # a user id: post ephemerally in `channel`, else a DM


@dataclass
class _Page:
    template: str
    title: str
    status: int = 200
    context: dict[str, Any] = field(default_factory=dict)
    form: bool = False  # a form page gets a fresh CSRF token
    slack: list[_SlackMessage] = field(default_factory=list)


@dataclass(frozen=True)
class _Visit:
    session: Session
    link: OneTimeLink
    account: Account
    now: datetime
    form: Mapping[str, str] | None  # None on GET
    ip_address: str | None


class SecurePages:
    """The three password pages, bound to the app's settings and dependencies."""

    def __init__(self, settings: Settings, deps: Deps) -> None:
        self.settings = settings
        self.deps = deps
        self.https = is_https(settings)
        self.csrf_cookie = "__Host-portal_csrf" if self.https else "portal_csrf"

    # Framing --------------------------------------------------------------------------------

    def serve(
        self, purpose: LinkPurpose, token: str, handle: Callable[[_Visit], _Page]
    ) -> Response:
        """One request: CSRF, one transaction around the link and the page, then Slack."""
        form: Mapping[str, str] | None = None
        if request.method == "POST":
            if not self._csrf_ok():
                return self.problem(
                    "This form has expired or was not sent from this page. Reload the page and "
                    "try again.",
                    title="Please try again",
                    status=400,
                )
            form = request.form
        now = self.deps.clock()
        try:
            with transaction(self.deps.session_factory) as session:
                link = links.open_link(
                    session=session, settings=self.settings, token=token, purpose=purpose, now=now
                )
                account = session.get_one(Account, link.account_id)
                role = role_of(
                    session=session, account_id=account.id, slack_user_id=link.slack_user_id
                )
                require_role(role, _ALLOWED[purpose])
                page = handle(_Visit(session, link, account, now, form, _client_ip()))
        except links.LinkInvalid as exc:
            return self.problem(
                exc.message, title="This link can't be used", status=exc.http_status
            )
        except PermissionDenied as exc:
            return self.problem(exc.message, title="Not allowed", status=403)
        self._send(link.account_id, page.slack)
        return self.render(page)

    def render(self, page: _Page) -> Response:
        context = {
            "title": page.title,
            "max_length": MAX_FIELD_LENGTH,
            "rule": STRENGTH_RULE,
            "errors": {},
            **page.context,
        }
        csrf_token = secrets.token_urlsafe(_CSRF_BYTES) if page.form else None
        if csrf_token:
            context["csrf_token"] = csrf_token
        response = make_response(render_template(page.template, **context), page.status)
        if csrf_token:
            response.set_cookie(
                self.csrf_cookie,
                csrf_token,
                path="/",
                secure=self.https,
                httponly=True,
                samesite="Strict",
            )
        return response

    def problem(
        self, message: str, *, title: str, status: int, reference: str | None = None
    ) -> Response:
        page = _Page(
            "secure/problem.html",
            title,
            status,
            {"message": message, "reference": reference},
        )
        return self.render(page)

    def _csrf_ok(self) -> bool:
        cookie = request.cookies.get(self.csrf_cookie, "")
        sent = request.form.get(CSRF_FIELD, "")
        if not cookie or not sent or len(cookie) > _MAX_CSRF_LENGTH:
            return False
        return hmac.compare_digest(cookie.encode("utf-8"), sent.encode("utf-8"))

    def _send(self, account_id: int, messages: list[_SlackMessage]) -> None:
        """Tell Slack; a failure is logged (method and Slack's error code only) and ignored."""
        if not messages:
            return
        slack = self.deps.slack_for_account(account_id)
        for item in messages:
            if item.ephemeral_for is not None:
                ephemeral = partial(
                    slack.chat_postEphemeral,
                    channel=item.channel,
                    user=item.ephemeral_for,
                    **item.message,
                )
                if self._call("chat.postEphemeral", item.channel, ephemeral):
                    continue
                # The channel is gone or the bot left it: a direct message still reaches them.
                direct = partial(slack.chat_postMessage, channel=item.ephemeral_for, **item.message)
                self._call("chat.postMessage", item.ephemeral_for, direct)
            else:
                message = partial(slack.chat_postMessage, channel=item.channel, **item.message)
                self._call("chat.postMessage", item.channel, message)

    @staticmethod
    def _call(method: str, channel: str, send: Callable[[], object]) -> bool:
        try:
            send()
        except SlackApiError as exc:
            log.warning("Slack %s to %s failed: %s", method, channel, exc.response.get("error"))
            return False
        except (SlackClientError, OSError) as exc:
            log.warning("Slack %s to %s failed: %s", method, channel, type(exc).__name__)
            return False
        return True

    def _tell_user(self, link: OneTimeLink, message: common.Message) -> _SlackMessage:
        if link.channel_id:
            return _SlackMessage(link.channel_id, message, ephemeral_for=link.slack_user_id)
        return _SlackMessage(link.slack_user_id, message)

    def _until(self, moment: datetime) -> str:
        local = moment.astimezone(self.settings.timezone)
        return f"{local:%H:%M} {local.tzname()}"

    # The pages -------------------------------------------------------------------------------

    def confirm_password(self, visit: _Visit) -> _Page:
        title = "Enter your password"
        context: dict[str, Any] = {"company": visit.account.company_name}
        if visit.form is None:
            return _Page("secure/confirm_password.html", title, context=context, form=True)
        password = visit.form.get(PASSWORD_FIELD, "")
        error, status = _entered(password, "Enter your password.")
        if error is None:
            check = passwords.verify_password(
                session=visit.session, account_id=visit.account.id, password=password, now=visit.now
            )
            if not check.ok:
                self._audit_rejected(visit, check)
                error, status = check.message(), _status_of(check)
        if error is not None:
            context["errors"] = {PASSWORD_FIELD: error}
            return _Page("secure/confirm_password.html", title, status, context, form=True)
        until = links.open_password_window(
            session=visit.session,
            account_id=visit.account.id,
            slack_user_id=visit.link.slack_user_id,
            now=visit.now,
        )
        links.use_link(session=visit.session, link=visit.link, now=visit.now)
        audit.record(
            session=visit.session,
            account_id=visit.account.id,
            actor=visit.link.slack_user_id,
            action="password.confirmed",
            now=visit.now,
            source="web",
            ip_address=visit.ip_address,
        )
        context.update(
            message="Your password is confirmed.",
            details=[
                "You can update the contact details from Slack for the next 15 minutes, "
                f"until {self._until(until)}."
            ],
        )
        return _Page(
            "secure/done.html",
            "Password confirmed",
            context=context,
            slack=[
                self._tell_user(visit.link, password_confirmed_message(until=self._until(until)))
            ],
        )

    def change_password(self, visit: _Visit) -> _Page:
        title = "Change password"
        context: dict[str, Any] = {"company": visit.account.company_name}
        if visit.form is None:
            return _Page("secure/change_password.html", title, context=context, form=True)
        current = visit.form.get(CURRENT_PASSWORD_FIELD, "")
        new = visit.form.get(NEW_PASSWORD_FIELD, "")
        errors, status = self._new_password_errors(visit.account, new, visit.form)
        current_error, current_status = _entered(current, "Enter the current password.")
        if current_error is None:
            check = passwords.verify_password(
                session=visit.session, account_id=visit.account.id, password=current, now=visit.now
            )
            if not check.ok:
                self._audit_rejected(visit, check)
                current_error, current_status = check.message(), _status_of(check)
            elif not errors and hmac.compare_digest(current.encode(), new.encode()):
                errors[NEW_PASSWORD_FIELD] = "Choose a password different from the current one."
        if current_error is not None:
            errors[CURRENT_PASSWORD_FIELD] = current_error
            status = max(status, current_status)
        if errors:
            context["errors"] = errors
            return _Page("secure/change_password.html", title, status, context, form=True)
        return self._save(visit, new, first=False)

    def set_password(self, visit: _Visit) -> _Page:
        title = "Set the password"
        context: dict[str, Any] = {"company": visit.account.company_name}
        if visit.session.get(PasswordCredential, visit.account.id) is not None:
            context["message"] = (
                "This account already has a password. To change it, choose Change password "
                f"in {PORTAL_COMMAND}."
            )
            return _Page("secure/problem.html", "A password is already set", 409, context)
        if visit.form is None:
            return _Page("secure/set_password.html", title, context=context, form=True)
        new = visit.form.get(NEW_PASSWORD_FIELD, "")
        errors, status = self._new_password_errors(visit.account, new, visit.form)
        if errors:
            context["errors"] = errors
            return _Page("secure/set_password.html", title, status, context, form=True)
        return self._save(visit, new, first=True)

    # Shared steps ----------------------------------------------------------------------------

    def _new_password_errors(
        self, account: Account, new: str, form: Mapping[str, str]
    ) -> tuple[dict[str, str], int]:
        """Errors of the new and confirm fields, without side effects."""
        errors: dict[str, str] = {}
        error, _ = _entered(new, "Enter a new password.")
        if error is None:
            try:
                passwords.check_strength(
                    new, company_name=account.company_name, email=account.contact_email
                )
            except FieldError as exc:
                error = exc.message
        if error is not None:
            errors[NEW_PASSWORD_FIELD] = error
        confirm = form.get(CONFIRM_PASSWORD_FIELD, "")
        if not confirm:
            errors[CONFIRM_PASSWORD_FIELD] = "Enter the new password again."
        elif error is None and not hmac.compare_digest(confirm.encode(), new.encode()):
            errors[CONFIRM_PASSWORD_FIELD] = "The two passwords don't match."
        return errors, 422 if errors else 200

    def _save(self, visit: _Visit, new: str, *, first: bool) -> _Page:
        try:
            passwords.set_password(
                session=visit.session,
                account=visit.account,
                new_password=new,
                actor=visit.link.slack_user_id,
                now=visit.now,
                ip_address=visit.ip_address,
            )
        except FieldError as exc:  # already checked; kept so a rule change can't slip through
            page = "secure/set_password.html" if first else "secure/change_password.html"
            return _Page(
                page,
                "Set the password" if first else "Change password",
                422,
                {
                    "company": visit.account.company_name,
                    "errors": {NEW_PASSWORD_FIELD: exc.message},
                },
                form=True,
            )
        links.use_link(session=visit.session, link=visit.link, now=visit.now)
        # Whoever confirmed the old password has no business acting on the new one.
        links.close_password_windows(session=visit.session, account_id=visit.account.id)
        user_message = password_set_message() if first else password_changed_message()
        slack = [self._tell_user(visit.link, user_message)]
        route = notifications.route_for(
            session=visit.session, account_id=visit.account.id, kind=notifications.Kind.PASSWORD
        )
        if route is not None:  # the finance channel, unless its settings say otherwise
            notice = password_changed_notice(user_id=visit.link.slack_user_id, first=first)
            slack.append(_SlackMessage(route.channel_id, notice))
        return _Page(
            "secure/done.html",
            "Password set" if first else "Password changed",
            context={
                "company": visit.account.company_name,
                "message": "The Admin Portal password is set." if first else CHANGED,
                "details": [],
            },
            slack=slack,
        )

    def _audit_rejected(self, visit: _Visit, check: passwords.PasswordCheck) -> None:
        audit.record(
            session=visit.session,
            account_id=visit.account.id,
            actor=visit.link.slack_user_id,
            action="password.rejected",
            now=visit.now,
            source="web",
            ip_address=visit.ip_address,
            result=check.result.value,
        )


def _entered(value: str, missing: str) -> tuple[str | None, int]:
    """A field's presence and length error, if any (a password is never quoted back)."""
    if not value:
        return missing, 422
    if len(value) > MAX_FIELD_LENGTH:
        return f"Use at most {MAX_FIELD_LENGTH} characters.", 422
    return None, 200


def _status_of(check: passwords.PasswordCheck) -> int:
    if check.result is passwords.CheckResult.LOCKED:
        return 429
    if check.result is passwords.CheckResult.NOT_SET:
        return 409
    return 422


def _client_ip() -> str | None:
    address = request.remote_addr
    return address[:45] if address else None


# ----------------------------------------------------------------------------------------------
# The blueprint
# ----------------------------------------------------------------------------------------------


def blueprint(
    settings: Settings, deps: Deps, *, limiter: rate_limit.SecurePostLimiter | None = None
) -> Blueprint:
    """The secure pages under `/secure/`, with their headers, CSRF, rate limits and errors."""
    pages = SecurePages(settings, deps)
    limiter = limiter or rate_limit.SecurePostLimiter.from_settings(settings)
    headers = security_headers(settings)
    bp = Blueprint(
        "secure_pages",
        __name__,
        url_prefix="/secure",
        template_folder="templates",
        static_folder="static",
    )

    @bp.before_request
    def _limit_request_size() -> None:
        request.max_content_length = MAX_BODY_BYTES
        request.max_form_parts = 20

    limit_posts(bp, pages.problem, limiter)

    @bp.after_request
    def _secure_headers(response: Response) -> Response:
        response.headers.update(headers)
        return response

    @bp.route("/confirm-password/<token>", methods=["GET", "POST"])
    def confirm_password(token: str) -> Response:
        return pages.serve(LinkPurpose.CONFIRM_PASSWORD, token, pages.confirm_password)

    @bp.route("/change-password/<token>", methods=["GET", "POST"])
    def change_password(token: str) -> Response:
        return pages.serve(LinkPurpose.CHANGE_PASSWORD, token, pages.change_password)

    @bp.route("/set-password/<token>", methods=["GET", "POST"])
    def set_password(token: str) -> Response:
        return pages.serve(LinkPurpose.SET_PASSWORD, token, pages.set_password)

    @bp.route("/", defaults={"rest": ""}, methods=["GET", "POST"])
    @bp.route("/<path:rest>", methods=["GET", "POST"])
    def unknown(rest: str) -> Response:
        return pages.problem(
            links.LinkInvalid().message, title="This link can't be used", status=404
        )

    handle_page_errors(
        bp,
        pages.problem,
        what="Secure page",
        too_large="That was more than this form takes.",
        retry="Try again in a minute.",
        failed="Something went wrong on our side and nothing was changed. Try again in a minute.",
    )

    return bp


class ProblemPage(Protocol):
    def __call__(
        self, message: str, *, title: str, status: int, reference: str | None = None
    ) -> Response: ...


def limit_posts(bp: Blueprint, problem: ProblemPage, limiter: rate_limit.SecurePostLimiter) -> None:
    """Too many POSTs from one address, or to one link: 429 with `Retry-After`, before anything
    else (CSRF, the database) is looked at."""

    @bp.before_request
    def _rate_limit() -> Response | None:
        wait = rate_limit.too_soon(limiter)
        if wait is None:
            return None
        response = problem(wait.message, title="Too many attempts", status=429)
        response.headers["Retry-After"] = str(wait.seconds)
        return response


def handle_page_errors(
    bp: Blueprint, problem: ProblemPage, *, what: str, too_large: str, retry: str, failed: str
) -> None:
    """The secure pages' one error policy: a page that says what happened, never a traceback.

    A database outage is a 503 with `Retry-After` and "try again"; anything unexpected is
    logged with a reference the page shows.
    """

    @bp.errorhandler(Exception)
    def _error(error: Exception) -> Response:
        if isinstance(error, HTTPException):
            status = error.code or 500
            message = {405: "This page can't be used that way.", 413: too_large}.get(
                status, "That request could not be handled. Reload the page and try again."
            )
            return problem(message, title="Something went wrong", status=status)
        if isinstance(error, UserFacingError):
            return problem(error.message, title="Something went wrong", status=400)
        reference = secrets.token_hex(4)
        if unreachable(error):
            log.warning("%s: database unavailable (reference %s)", what, reference)
            response = problem(
                f"We can't reach our records right now. {retry}",
                title="Please try again",
                status=503,
                reference=reference,
            )
            response.headers["Retry-After"] = "60"
            return response
        log.exception("%s failed (reference %s)", what, reference, exc_info=error)
        return problem(failed, title="Something went wrong", status=500, reference=reference)
