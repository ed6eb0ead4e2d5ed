"""A pytest plugin: every log record of the whole suite, formatted as the app formats it, to a file.

For the whole session a handler on the root logger, at DEBUG, writes each record through the
app's own `bot.logs.JsonFormatter` (one JSON object a line, secrets redacted) to
`<pytest basetemp>/log-audit/suite.jsonl` (pytest's temporary directory: never committed). The
root logger is held at DEBUG so every library's records reach it (slack_sdk logs request
headers, werkzeug logs paths with one-time links in them, urllib3 logs Stripe calls); a test
that replaces the root handlers (`configure_logging`) gets it back before and after each test.

`tests/zz_logs/test_log_grep.py`, moved to the end of the run, reads the file and looks for
every secret the suite used (`suite_secrets`). It only means something after the flows that
handle secrets have run, so it skips unless tests/pages, tests/payments and tests/slack ran.

Not covered: what child processes write to their own stderr (gunicorn in tests/slack/
test_serve.py, which throws it away; localstripe). The sandbox's stderr, which the browser test
keeps in a file under the basetemp, is read too: `other_logs` lists every `*.log` there.
"""

from __future__ import annotations

import ast
import logging
import re
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bot.logs import JsonFormatter

TESTS = Path(__file__).resolve().parent
GREP_TEST = ("zz_logs", "test_log_grep.py")
# The folders whose tests drive the flows that handle secrets: tokens, signing secrets,
# passwords, link tokens, Stripe keys and card numbers.
SECRET_FLOWS = ("pages", "payments", "slack")
MIN_TESTS_PER_FLOW = 10  # fewer (a -k selection) and the log is too thin to mean anything

# Stripe's test card numbers (https://docs.stripe.com/testing): the suite and the sandbox use
# some; none may ever be logged, whichever it is.
STRIPE_TEST_CARDS = (
    "4242424242424242",
    "4000056655665556",
    "5555555555554444",
    "2223003122003222",
    "5200828282828210",
    "378282246310005",
    "6011111111111117",
    "3056930009020004",
    "4000000000000002",
    "4000000000009995",
    "4000000000009987",
    "4000000000000069",
    "4000000000000127",
    "4000000000000119",
    "4000000000000341",
    "4000002500003155",
    "4000002760003184",
    "4000003800000446",
    "4000000000003220",
)
# Module-level names in the tests whose string values are secrets.
_SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|API_KEY|SECRET_KEY")
_NOT_SECRET_NAME = re.compile(r"PUBLISHABLE|FIELD|INPUT|URL|PATH|_ID$|MESSAGE|TEXT|TITLE")
# ... and names whose values are secrets only when they are card numbers.
_CARD_NAME = re.compile(r"CARD|VISA|DECLINE|NEEDS_AUTH|NUMBER")
_CARD_VALUE = re.compile(r"^\d(?:[ -]?\d){12,18}$")
# Keyword arguments and form keys that carry a typed password.
_PASSWORD_KEY = re.compile(r"^(current_|new_|confirm_)?password$")
_CARD_DIGITS = re.compile(r"^\d{13,19}$")
MIN_SECRET_LENGTH = 6


class _CountingHandler(logging.FileHandler):
    records = 0

    def emit(self, record: logging.LogRecord) -> None:
        super().emit(record)
        self.records += 1


@dataclass
class _State:
    path: Path | None = None
    handler: _CountingHandler | None = None
    selected: Counter[str] = field(default_factory=Counter)  # tests run, by folder under tests/
    basetemp: Path | None = None
    grepped: str = ""  # what the grep test checked, for the summary line


STATE = _State()


def pytest_sessionstart(session: pytest.Session) -> None:
    factory = getattr(session.config, "_tmp_path_factory", None)
    base = (
        Path(factory.getbasetemp())
        if factory is not None
        else Path(tempfile.mkdtemp(prefix="log-audit-"))
    )
    STATE.basetemp = base
    folder = base / "log-audit"
    folder.mkdir(parents=True, exist_ok=True)
    STATE.path = folder / "suite.jsonl"
    handler = _CountingHandler(STATE.path, mode="w", encoding="utf-8")
    handler.setFormatter(JsonFormatter())
    handler.setLevel(logging.DEBUG)
    STATE.handler = handler
    _attach()


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    grep: list[pytest.Item] = []
    rest: list[pytest.Item] = []
    for item in items:
        (grep if _parts(item)[:2] == GREP_TEST else rest).append(item)
    items[:] = rest + grep  # the grep runs last, whatever the order asked for


def pytest_collection_finish(session: pytest.Session) -> None:
    STATE.selected = Counter(_parts(item)[0] for item in session.items if len(_parts(item)) > 1)


def _parts(item: pytest.Item) -> tuple[str, ...]:
    path = Path(str(item.path)).resolve()
    return path.relative_to(TESTS).parts if path.is_relative_to(TESTS) else ()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    _attach()


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item: pytest.Item) -> None:
    _attach()


def pytest_sessionfinish(session: pytest.Session) -> None:
    if STATE.handler is not None:
        logging.getLogger().removeHandler(STATE.handler)
        STATE.handler.close()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if STATE.handler is not None:
        terminalreporter.write_line(
            f"log audit: {STATE.handler.records} log records of this run in {STATE.path}"
            + (f"; {STATE.grepped}" if STATE.grepped else "")
        )


def _attach() -> None:
    """Put the handler back on the root logger (and the root at DEBUG) if a test removed it."""
    if STATE.handler is None:
        return
    root = logging.getLogger()
    if STATE.handler not in root.handlers:
        root.addHandler(STATE.handler)
    if root.level == logging.NOTSET or root.level > logging.DEBUG:
        root.setLevel(logging.DEBUG)


def flush() -> None:
    if STATE.handler is not None:
        STATE.handler.flush()


def flows_missing() -> list[str]:
    """The folders of secret-handling tests this run did not (or hardly) include."""
    return [flow for flow in SECRET_FLOWS if STATE.selected[flow] < MIN_TESTS_PER_FLOW]


def other_logs() -> list[Path]:
    """Log files tests kept under the basetemp (the sandbox's stderr, for one)."""
    if STATE.basetemp is None:
        return []
    return sorted(path for path in STATE.basetemp.rglob("*.log") if path.is_file())


# -- The secrets the suite used -------------------------------------------------------------------


def suite_secrets() -> dict[str, str]:
    """Every secret the suite used, each with where it was found."""
    found: dict[str, str] = {}
    for number in STRIPE_TEST_CARDS:
        found[number] = "a Stripe test card"
    for name, module in list(sys.modules.items()):
        if name == "tests" or name.startswith("tests."):
            for attribute, value in vars(module).items():
                if _secret_constant(attribute, value):
                    found.setdefault(value, f"{name}.{attribute}")
    for path in sorted(TESTS.rglob("*.py")):
        for value, where in _secret_literals(path):
            found.setdefault(value, where)
    return {value: where for value, where in found.items() if len(value) >= MIN_SECRET_LENGTH}


def _secret_constant(name: str, value: object) -> bool:
    if not isinstance(value, str) or not name.isupper():
        return False
    if _CARD_NAME.search(name) and _CARD_VALUE.match(value):
        return True
    return bool(_SECRET_NAME.search(name)) and not _NOT_SECRET_NAME.search(name)


def _secret_literals(path: Path) -> list[tuple[str, str]]:
    """Passwords typed into forms and card numbers, as string literals in a test file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    where = str(path.relative_to(TESTS.parent))
    found: list[tuple[str, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg and _PASSWORD_KEY.match(node.arg):
            found.extend(_strings(node.value, f"{where}:{node.value.lineno}"))
        elif isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if (
                    isinstance(key, ast.Constant)
                    and isinstance(key.value, str)
                    and _PASSWORD_KEY.match(key.value)
                ):
                    found.extend(_strings(value, f"{where}:{value.lineno}"))
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and _CARD_DIGITS.match(node.value)
            and luhn_valid(node.value)
        ):
            found.append((node.value, f"{where}:{node.lineno} (a card number)"))
    return found


def _strings(node: ast.expr, where: str) -> list[tuple[str, str]]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value:
        return [(node.value, where)]
    return []


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        digit = int(char)
        if index % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0
