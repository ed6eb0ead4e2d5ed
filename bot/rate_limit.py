"""Rate limits on the secure pages' form posts: per client address and per one-time link.

The password pages already lock the account for 15 minutes after 5 wrong passwords
(`bot/passwords.py`, in the database, so every server process sees it). That guards one
account; these limits slow down everything else a guesser can do cheaply: many links, many
accounts, or floods of posts that each cost an Argon2 hash. Every POST to a page under
`/secure/` counts, before CSRF or the database are looked at:

- per client address: `SECURE_POSTS_PER_ADDRESS` posts (default 100) in 10 minutes; each
  post can cost an Argon2 hash (about a third of a second of CPU), so this bounds what one
  address can make the server spend;
- per one-time link (which names one person on one account): `SECURE_POSTS_PER_LINK` (default
  10) in 10 minutes, the link's whole life.

Over either, the page answers 429 with `Retry-After` and nothing else is done.

Why in process: a sliding window kept in memory costs no database round trip on a path a
flood would hammer, and needs no table. The price, written down here: each server process
counts on its own, so `serve --workers N` (and N instances behind a load balancer) let an
address make up to N times the limit. That is acceptable because the limit that must hold
across processes, the account lockout, is in the database; this layer only makes guessing
slow and expensive. The windows are bounded (`MAX_KEYS` keys, least recently used dropped
first), so addresses invented by an attacker cannot grow memory without end.

The client address is the connecting address; `X-Forwarded-For` is believed only when
`TRUSTED_PROXY_HOPS` says how many proxies in front of the app set it (`bot/web.py` applies
werkzeug's `ProxyFix` for that many hops), since anyone can send the header.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from flask import request

from bot.settings import Settings

WINDOW = timedelta(minutes=10)  # a one-time link's whole life
# Defaults; `SECURE_POSTS_PER_LINK` and `SECURE_POSTS_PER_ADDRESS` set them.
LINK_LIMIT = 10  # the account locks after 5 wrong passwords; this leaves room for typos
ADDRESS_LIMIT = 100  # an office behind one address, several people at once
MAX_KEYS = 10_000

TOO_MANY = (
    "Too many attempts from here in a short time. Wait {wait}, then reload the page and try again."
)


class SlidingWindow:
    """At most `limit` hits per key in any `window`; a refused hit is not counted."""

    def __init__(
        self,
        limit: int,
        window: timedelta,
        clock: Callable[[], float] = time.monotonic,
        *,
        max_keys: int = MAX_KEYS,
    ) -> None:
        self.limit = limit
        self.window = window.total_seconds()
        self.clock = clock
        self.max_keys = max_keys
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def hit(self, key: str) -> float | None:
        """Count a hit for `key`: None when allowed, else the seconds until one would be."""
        now = self.clock()
        with self._lock:
            hits = self._hits.get(key)
            if hits is None:
                hits = self._hits[key] = deque()
                while len(self._hits) > self.max_keys:
                    self._hits.popitem(last=False)
            else:
                self._hits.move_to_end(key)
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                return hits[0] + self.window - now
            hits.append(now)
            return None

    def __len__(self) -> int:
        return len(self._hits)


class SecurePostLimiter:
    """The secure pages' two limits, shared by every page of one app."""

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        *,
        address_limit: int = ADDRESS_LIMIT,
        link_limit: int = LINK_LIMIT,
        window: timedelta = WINDOW,
        max_keys: int = MAX_KEYS,
    ) -> None:
        self.by_address = SlidingWindow(address_limit, window, clock, max_keys=max_keys)
        self.by_link = SlidingWindow(link_limit, window, clock, max_keys=max_keys)

    @classmethod
    def from_settings(cls, settings: Settings) -> SecurePostLimiter:
        return cls(
            address_limit=settings.SECURE_POSTS_PER_ADDRESS,
            link_limit=settings.SECURE_POSTS_PER_LINK,
        )

    def check(self, address: str | None, token: str | None) -> int | None:
        """Count one post: None when allowed, else whole seconds to wait (Retry-After)."""
        wait = self.by_address.hit(address or "unknown")
        if wait is None and token:
            # Only a digest of the link is kept: a live token is a credential.
            wait = self.by_link.hit(hashlib.sha256(token.encode("utf-8")).hexdigest())
        return None if wait is None else max(1, math.ceil(wait))


def wait_in_words(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = math.ceil(seconds / 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


@dataclass(frozen=True, slots=True)
class Wait:
    """A refused post: how long to wait, as a header value and in words."""

    seconds: int

    @property
    def message(self) -> str:
        return TOO_MANY.format(wait=wait_in_words(self.seconds))


def too_soon(limiter: SecurePostLimiter) -> Wait | None:
    """For a secure page's `before_request`: count this request if it is a form post."""
    if request.method != "POST":
        return None
    token = (request.view_args or {}).get("token")
    wait = limiter.check(request.remote_addr, token if isinstance(token, str) else None)
    return None if wait is None else Wait(wait)
