"""The logs of the whole suite, as the app would write them, hold none of the secrets it used.

`tests/log_audit.py` (a plugin, see there) wrote every record of this run through the app's JSON
formatter and redaction to one file; this test runs last and reads it. Alone (`pytest
tests/zz_logs`) there is nothing to read, so it skips rather than pass on an empty log.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any

import pytest

from tests import log_audit

# Secrets by their shape, whichever value they have: anything the redaction should have caught.
LEAK_SHAPES = {
    "a Slack token": re.compile(r"xox[abposr]-[A-Za-z0-9-]{4,}|xapp-[A-Za-z0-9-]{4,}"),
    "a Stripe secret key": re.compile(r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{4,}"),
    "a Stripe webhook secret": re.compile(r"\bwhsec_[A-Za-z0-9]{4,}"),
    "a one-time link": re.compile(r"/secure/[a-z-]+/(?!\[redacted\])[A-Za-z0-9._~-]{20,}"),
    "a link token": re.compile(r"\b\d+\.[UW][A-Z0-9]{2,}\.[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{20,}"),
    "a card number": re.compile(r"\b(?:\d[ -]?){12,18}\d\b"),
}
# Below these, the run did not exercise the flow enough for "nothing leaked" to mean much.
MIN_RECORDS = 500
MIN_PER_FLOW = 20


def _flows() -> list[str]:
    flows = log_audit.secret_flows_ran()
    if not flows:
        pytest.skip(
            "nothing to grep: this checks the logs the rest of the suite wrote, so run it with "
            "the suite (`pytest tests`, or with tests/pages, payments, slack, jobs or browser)"
        )
    return flows


def _records() -> tuple[list[str], list[dict[str, Any]]]:
    log_audit.flush()
    assert log_audit.STATE.path is not None
    lines = log_audit.STATE.path.read_text(encoding="utf-8").splitlines()
    records = []
    for number, line in enumerate(lines, 1):
        try:
            record = json.loads(line)
        except ValueError:
            pytest.fail(f"line {number} of {log_audit.STATE.path} is not JSON: {line[:200]!r}")
        assert isinstance(record, dict), line[:200]
        assert {"time", "level", "logger", "message"} <= set(record), line[:200]
        records.append(record)
    return lines, records


def test_every_log_line_is_json_and_holds_no_secret() -> None:
    flows = _flows()
    lines, records = _records()
    assert len(records) >= MIN_RECORDS, f"only {len(records)} records: the handler saw little"
    text = "\n".join(lines)

    secrets = log_audit.suite_secrets()
    assert len(secrets) >= 20, sorted(secrets.values())  # the collection itself works
    leaked = [
        f"{where}: {line[:300]}"
        for secret, where in secrets.items()
        if secret in text
        for line in lines
        if secret in line
    ]
    assert not leaked, "\n".join(leaked[:20])
    shaped = [
        f"{what}: {line[:300]}"
        for what, shape in LEAK_SHAPES.items()
        for line in lines
        if shape.search(line)
    ]
    assert not shaped, "\n".join(shaped[:20])

    # Not vacuous: the flows that handle secrets wrote plenty, and the redaction was at work.
    loggers = Counter(record["logger"].split(".")[0] for record in records)
    secure_paths = [r for r in records if "/secure/" in r["message"]]
    if "pages" in flows or "payments" in flows:
        assert len(secure_paths) >= MIN_PER_FLOW, loggers.most_common(20)
        assert all("[redacted]" in r["message"] for r in secure_paths if "/secure/" in r["message"])
    if "slack" in flows:
        assert loggers["slack_sdk"] + loggers["slack_bolt"] >= MIN_PER_FLOW, loggers.most_common(20)
    if "payments" in flows:
        stripe_calls = [r for r in records if "/v1/" in r["message"]]
        assert len(stripe_calls) >= MIN_PER_FLOW, loggers.most_common(20)
    assert "[redacted]" in text


def test_log_files_tests_kept_hold_no_secret() -> None:
    """Child processes' stderr a test kept under the basetemp (the sandbox's, for one)."""
    _flows()
    secrets = log_audit.suite_secrets()
    for path in log_audit.other_logs():
        text = path.read_text(encoding="utf-8", errors="replace")
        leaked = [where for secret, where in secrets.items() if secret in text]
        assert not leaked, f"{path}: {leaked}"
        for what, shape in LEAK_SHAPES.items():
            assert not shape.search(text), f"{path}: {what}"
