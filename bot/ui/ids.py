"""Every command, callback id, block id and action id the app uses, in one place.

Builders, handlers, tests and the manifest check all read these names; nothing spells an id
as a literal string elsewhere. Block ids of input blocks equal the field names the services
use in `FieldError`, so a service's error lands under the right field.
"""

from __future__ import annotations

import enum

PORTAL_COMMAND = "/portal"


class Act(enum.StrEnum):
    """`action_id`s of buttons, selects and dispatching inputs."""

    # The menu and navigation
    MENU_ACCOUNT = "menu_account"
    MENU_PASSWORD = "menu_password"  # noqa: S105 - an action id
    MENU_CARD = "menu_card"
    MENU_CREDITS = "menu_credits"
    MENU_BUY_CREDITS = "menu_buy_credits"
    MENU_SERVICES = "menu_services"
    MENU_INVOICES = "menu_invoices"
    MENU_PAY = "menu_pay"
    MENU_USERS = "menu_users"
    MENU_VAT = "menu_vat"
    MENU_FINANCE = "menu_finance"
    MENU_HELP = "menu_help"
    RETURN_TO_ACCOUNT = "return_to_account"
    OPEN_LINK = "open_link"  # URL buttons: Slack still sends an action, which is only acked
    # Account
    SET_UP_ACCOUNT = "set_up_account"
    UPDATE_CONTACT_DETAILS = "update_contact_details"
    CHANGE_PASSWORD = "change_password"  # noqa: S105 - an action id
    EDIT_VAT = "edit_vat"
    CHOOSE_FINANCE_CHANNEL = "choose_finance_channel"
    # Credits, services and invoices
    CREDITS_INPUT = "credits_input"
    INVOICES_PAGE = "invoices_page"
    VIEW_INVOICE = "view_invoice"
    DOWNLOAD_INVOICE = "download_invoice"  # posts the invoice's PDF into the conversation
    # Payments: the pay modal and payment details
    PAY_INVOICE = "pay_invoice"  # "Pay now": the pay modal, its value's invoice ticked
    INVOICES_INPUT = "invoices_input"  # the pay modal's checkboxes (dispatch: the live total)
    ADD_PAYMENT_DETAILS = "add_payment_details"  # "Add/Change Payment Details"
    FORENAME_INPUT = "forename_input"
    SURNAME_INPUT = "surname_input"
    LINE1_INPUT = "line1_input"
    LINE2_INPUT = "line2_input"
    TOWN_INPUT = "town_input"
    POSTCODE_INPUT = "postcode_input"
    # Users
    ADD_USER = "add_user"
    CHANGE_ROLE = "change_role"
    REMOVE_USER = "remove_user"
    USERS_PAGE = "users_page"
    # Inputs inside modals (one per input block)
    COMPANY_NAME_INPUT = "company_name_input"
    COUNTRY_INPUT = "country_input"
    EMAIL_INPUT = "email_input"
    PHONE_INPUT = "phone_input"
    VAT_REFERENCE_INPUT = "vat_reference_input"
    SERVICE_INPUT = "service_input"
    HOURS_INPUT = "hours_input"
    USER_INPUT = "user_input"
    ROLE_INPUT = "role_input"
    CHANNEL_INPUT = "channel_input"
    # The finance channel feed (/portal finance)
    FINANCE_NOTIFICATIONS = "finance_notifications"
    FINANCE_ROUTE = "finance_route"
    FINANCE_PAUSE = "finance_pause"  # value "pause" or "resume"
    FINANCE_TEST = "finance_test"
    FINANCE_BALANCE = "finance_balance"
    FINANCE_AUTOPAY = "finance_autopay"  # value "on" or "off"
    NOTIFY_MONEY_INPUT = "notify_money_input"
    NOTIFY_ACCOUNT_INPUT = "notify_account_input"
    PAYMENT_THRESHOLD_INPUT = "payment_threshold_input"
    ROUTE_KIND_INPUT = "route_kind_input"
    ROUTE_CHANNEL_INPUT = "route_channel_input"
    LOW_BALANCE_INPUT = "low_balance_input"
    TOP_UP_BELOW_INPUT = "top_up_below_input"
    TOP_UP_CREDITS_INPUT = "top_up_credits_input"


class Blk(enum.StrEnum):
    """`block_id`s. Input blocks are named after the field the services validate."""

    COMPANY_NAME = "company_name"
    COUNTRY = "country"
    EMAIL = "email"
    PHONE = "phone"
    VAT_REFERENCE = "vat_reference"
    CREDITS = "credits"
    QUOTE = "quote"
    SERVICE = "service"
    HOURS = "hours"
    USER = "user"
    ROLE = "role"
    CHANNEL = "channel"
    MENU = "menu"
    NAVIGATION = "navigation"
    # Payments (named after bot.payments' fields: INVOICES_FIELD, BillingAddress)
    INVOICES = "invoices"
    PAY_TOTAL = "pay_total"
    FORENAME = "forename"
    SURNAME = "surname"
    LINE1 = "line1"
    LINE2 = "line2"
    TOWN = "town"
    POSTCODE = "postcode"
    # The finance channel feed's settings (named after bot.notifications' fields)
    NOTIFY_MONEY = "notify_money"
    NOTIFY_ACCOUNT = "notify_account"
    PAYMENT_THRESHOLD = "payment_threshold"
    ROUTE_KIND = "route_kind"
    ROUTE_CHANNEL = "route_channel"
    LOW_BALANCE = "low_balance"
    TOP_UP_BELOW = "top_up_below"
    TOP_UP_CREDITS = "top_up_credits"


class Cb(enum.StrEnum):
    """`callback_id`s of modals."""

    NOTICE = "notice_view"
    SET_UP_ACCOUNT = "set_up_account_view"
    CONTACT_DETAILS = "contact_details_view"
    VAT_DETAILS = "vat_details_view"
    FINANCE_CHANNEL = "finance_channel_view"
    FINANCE_NOTIFICATIONS = "finance_notifications_view"
    FINANCE_ROUTE = "finance_route_view"
    FINANCE_BALANCE = "finance_balance_view"
    PURCHASE_CREDITS = "purchase_credits_view"
    PURCHASE_CONFIRM = "purchase_confirm_view"
    SERVICES = "services_view"
    SERVICES_CONFIRM = "services_confirm_view"
    INVOICE_CREATED = "invoice_created_view"
    INVOICE_DETAIL = "invoice_detail_view"
    PAY_INVOICES = "pay_invoices_view"
    BILLING_ADDRESS = "billing_address_view"
    ADD_USER = "add_user_view"
    CHANGE_ROLE = "change_role_view"
