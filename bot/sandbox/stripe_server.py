"""localstripe for the sandbox: on 127.0.0.1 only, its state in a file beside the database.

Run as `python -m bot.sandbox.stripe_server --port N --state PATH --parent PID` (the sandbox
does this; nobody else needs to). localstripe is GPL, so it is only ever *run*, in this process
of its own, never copied into the app. What this launcher changes, from outside, is where it
listens and where it keeps its state:

- its own `start()` listens on every interface (`::`); the sandbox is local only, so this binds
  127.0.0.1;
- it saves its state after every change to the fixed `/tmp/localstripe.pickle`, which the test
  suite's localstripe also uses; this keeps the sandbox's customers and cards in `--state`
  instead, so they survive a restart of the sandbox together with its database;
- it ends when the sandbox does, even a sandbox that was killed (Linux: `PR_SET_PDEATHSIG`).
"""

from __future__ import annotations

import argparse
import ctypes
import os
import pickle
import signal
import sys
from pathlib import Path
from typing import Any

_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def _end_with_parent(parent: int) -> None:
    """Have the kernel send SIGTERM when the sandbox ends; end now if it already has."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if parent and os.getppid() != parent:
        sys.exit(0)


def _keep_state_in(store_class: Any, path: Path) -> None:
    """Point localstripe's save and load at `path` (written whole, then renamed into place)."""

    def load(store: Any) -> None:
        try:
            with path.open("rb") as saved:
                # Our own file, written by this launcher in an earlier run of the sandbox.
                old = pickle.load(saved)  # noqa: S301
        except FileNotFoundError:
            return
        store.clear()
        store.update(old)

    def dump(store: Any) -> None:
        partial = path.with_name(path.name + ".partial")
        with partial.open("wb") as out:
            pickle.dump(store, out, protocol=pickle.HIGHEST_PROTOCOL)
        partial.replace(path)

    store_class.try_load_from_disk = load
    store_class.dump_to_disk = dump


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.sandbox.stripe_server")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--state", type=Path, required=True, help="file for localstripe's state")
    parser.add_argument("--parent", type=int, default=0, help="the sandbox's process id")
    args = parser.parse_args(argv)
    _end_with_parent(args.parent)

    from aiohttp import web  # noqa: PLC0415 - only this process loads localstripe
    from localstripe import resources, server  # noqa: PLC0415

    state: Path = args.state
    state.parent.mkdir(parents=True, exist_ok=True)
    _keep_state_in(resources.Store, state)
    resources.store.try_load_from_disk()
    web.run_app(server.app, host="127.0.0.1", port=args.port, access_log=None, print=None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
