"""The redaction itself: a deliberately leaky log call comes out of the app's formatter clean.

The records also go to the suite's log file (tests/log_audit.py), where the grep, which runs
after this, finds none of these values.
"""

from __future__ import annotations

import json
import logging

import pytest

from bot.logs import JsonFormatter, redact

CARD = "4000002760003184"
SPACED_CARD = "4242 4242 4242 4242"
BOT_TOKEN = "xoxb-1234-5678-leakytoken"
STRIPE_SECRET_KEY = "sk_test_LeakyKey123456"
WEBHOOK_SECRET = "whsec_LeakySecret123"
LINK = "https://portal.example/secure/change-password/7.UADMIN.aaaaaaaaaaaaaaaaaaaaaaa.bbbbbbbbbbbbbbbbbbbbbb"
PASSWORD = "Hunter-Two-Leaky-99"


def _formatted(caplog: pytest.LogCaptureFixture, message: str, *args: object) -> str:
    logger = logging.getLogger("bot.leaky")
    with caplog.at_level(logging.DEBUG, logger="bot.leaky"):
        logger.warning(message, *args)
    record = caplog.records[-1]
    return JsonFormatter().format(record)


@pytest.mark.parametrize(
    ("message", "args", "secret"),
    [
        ("charging card %s", (CARD,), CARD),
        ("card number: %s", (SPACED_CARD,), SPACED_CARD),
        ("Slack said no to %s", (BOT_TOKEN,), BOT_TOKEN),
        ("headers %s", ({"Authorization": f"Bearer {BOT_TOKEN}"},), BOT_TOKEN),
        ("Stripe key %s", (STRIPE_SECRET_KEY,), STRIPE_SECRET_KEY),
        ("webhook secret %s", (WEBHOOK_SECRET,), WEBHOOK_SECRET),
        ("sent the link %s", (LINK,), "aaaaaaaaaaaaaaaaaaaaaaa"),
        ("form password=%s&x=1", (PASSWORD,), PASSWORD),
        ('body {"password": "%s"}', (PASSWORD,), PASSWORD),
    ],
)
def test_a_leaky_log_call_is_redacted(
    caplog: pytest.LogCaptureFixture, message: str, args: tuple[object, ...], secret: str
) -> None:
    line = _formatted(caplog, message, *args)
    entry = json.loads(line)
    assert secret not in line
    assert "[redacted]" in entry["message"]
    assert entry["logger"] == "bot.leaky"
    assert entry["level"] == "WARNING"


def test_a_traceback_is_redacted_too(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("bot.leaky")
    with caplog.at_level(logging.DEBUG, logger="bot.leaky"):
        try:
            raise ValueError(f"declined {CARD} with {STRIPE_SECRET_KEY}")
        except ValueError:
            logger.exception("payment failed")
    line = JsonFormatter().format(caplog.records[-1])
    entry = json.loads(line)
    assert "ValueError" in entry["exception"]
    assert CARD not in line
    assert STRIPE_SECRET_KEY not in line


def test_ordinary_text_is_left_alone() -> None:
    text = "Invoice INV-000123 for £108.00 paid by UADMIN at 10:30"
    assert redact(text) == text


def test_one_record_is_always_one_line() -> None:
    # JSON allows these raw inside a string, but line-based readers split on them.
    message = "company: Acme\u2028Ltd\u2029 next\x85line"
    record = logging.LogRecord("bot", logging.INFO, __file__, 1, message, None, None)
    line = JsonFormatter().format(record)
    assert line.splitlines() == [line]
    assert json.loads(line)["message"] == message
