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
MIN_RECORDS = 1000
MIN_PER_FLOW = 20


def _require_the_suite() -> None:
    missing = log_audit.flows_missing()
    if missing:
        pytest.skip(
            "nothing to grep: this checks the logs the rest of the suite wrote, so run it with "
            f"the whole suite (`pytest tests`); not run here: tests/{', tests/'.join(missing)}"
        )


def _records() -> tuple[list[str], list[dict[str, Any]]]:
    log_audit.flush()
    assert log_audit.STATE.path is not None
    # Records end with "\n" only: `splitlines` would also break at U+0085 or U+2028, which the
    # formatter (ensure_ascii=False) leaves raw inside strings, as JSON allows.
    lines = log_audit.STATE.path.read_bytes().decode("utf-8").rstrip("\n").split("\n")
    records = []
    for number, line in enumerate(lines, 1):
        if not line:
            continue
        try:
            record = json.loads(line)
        except ValueError:
            pytest.fail(f"line {number} of {log_audit.STATE.path} is not JSON: {line[:200]!r}")
        assert isinstance(record, dict), line[:200]
        assert {"time", "level", "logger", "message"} <= set(record), line[:200]
        records.append(record)
    return lines, records


def test_every_log_line_is_json_and_holds_no_secret() -> None:
    _require_the_suite()
    lines, records = _records()
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
    assert len(records) >= MIN_RECORDS, f"only {len(records)} records: the handler saw little"
    loggers = Counter(record["logger"].split(".")[0] for record in records)
    # A one-time link's path is redacted whole, so the requests to the secure pages (werkzeug's
    # and urllib3's request lines) are the lines that say "[redacted]" where the path was.
    link_requests = [
        r
        for r in records
        if r["logger"].startswith(("werkzeug", "urllib3")) and "[redacted]" in r["message"]
    ]
    assert len(link_requests) >= MIN_PER_FLOW, loggers.most_common(20)  # tests/pages, payments
    assert loggers["slack_sdk"] + loggers["slack_bolt"] >= MIN_PER_FLOW, loggers.most_common(20)
    stripe_calls = [r for r in records if "/v1/" in r["message"]]  # tests/payments
    assert len(stripe_calls) >= MIN_PER_FLOW, loggers.most_common(20)
    assert "[redacted]" in text
    log_audit.STATE.grepped = (
        f"{len(records)} JSON lines grepped for {len(secrets)} secrets and "
        f"{len(LEAK_SHAPES)} secret shapes, none found; {len(link_requests)} requests with a "
        f"one-time link logged redacted"
    )


def test_log_files_tests_kept_hold_no_secret() -> None:
    """Child processes' stderr a test kept under the basetemp (the sandbox's, for one)."""
    _require_the_suite()
    secrets = log_audit.suite_secrets()
    for path in log_audit.other_logs():
        text = path.read_text(encoding="utf-8", errors="replace")
        leaked = [where for secret, where in secrets.items() if secret in text]
        assert not leaked, f"{path}: {leaked}"
        for what, shape in LEAK_SHAPES.items():
            assert not shape.search(text), f"{path}: {what}"
