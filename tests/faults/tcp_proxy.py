"""A TCP proxy the fault tests put between the app and a peer (PostgreSQL, localstripe).

It forwards bytes both ways until told otherwise:

- `cut()`: every open connection is reset and new ones are accepted and reset at once, as when
  the peer's host goes down; `restore()` forwards again. The app is never touched.
- `stall()`: connections stay open and nothing is forwarded either way (the peer is silent);
  `restore()` delivers what waited, in order, as a healed network would.
- `hold(prefix, forward_request=...)`: the next request whose first bytes start with `prefix`
  (an HTTP request line such as `b"POST /v1/payment_intents "`) is held. With
  `forward_request=True` the request reaches the peer and its answer is withheld (the peer acted,
  the app never hears); with `False` the request itself is swallowed (the peer never acts). The
  returned `Hold` says when the request was held and when the peer answered it.

A request line is recognised at the start of a read from the client, which is where it is for
the HTTP clients used here (each request on a keep-alive connection follows the last answer).
"""

from __future__ import annotations

import contextlib
import select
import socket
import struct
import threading
from dataclasses import dataclass, field

_CHUNK = 65536
_POLL_SECONDS = 0.1


@dataclass
class Hold:
    """One armed hold: what to match, and what happened to the request it caught."""

    prefix: bytes
    forward_request: bool
    held: threading.Event = field(default_factory=threading.Event)
    answered: threading.Event = field(default_factory=threading.Event)
    request: bytearray = field(default_factory=bytearray)  # what the client sent, held or not


def _reset(sock: socket.socket) -> None:
    """Close with an RST rather than a FIN: the peer sees the connection torn down."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.close()


class TcpProxy:
    """Listens on a free 127.0.0.1 port and forwards to `upstream_host:upstream_port`."""

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._cut = False
        self._stalled = False
        self._closing = False
        self._hold: Hold | None = None
        self.connections = 0  # accepted and forwarded, over the proxy's life
        self._acceptor = threading.Thread(target=self._accept_loop, daemon=True)

    def start(self) -> TcpProxy:
        self._acceptor.start()
        return self

    def __enter__(self) -> TcpProxy:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # Faults ------------------------------------------------------------------------------------

    def cut(self) -> None:
        """Reset every open connection and every new one until `restore()`."""
        with self._lock:
            self._cut = True
            doomed = list(self._open)
        for sock in doomed:
            _reset(sock)

    def stall(self) -> None:
        """Forward nothing until `restore()`, which delivers what waited, in order: a network
        that goes silent (connections open, nothing answered) and then heals."""
        with self._lock:
            self._stalled = True

    def restore(self) -> None:
        with self._lock:
            self._cut = False
            self._stalled = False

    def hold(self, prefix: bytes, *, forward_request: bool) -> Hold:
        """Arm a hold for the next request starting with `prefix`."""
        armed = Hold(prefix=prefix, forward_request=forward_request)
        with self._lock:
            self._hold = armed
        return armed

    def close(self) -> None:
        with self._lock:
            self._closing = True
            doomed = list(self._open)
        with contextlib.suppress(OSError):
            self._listener.close()
        for sock in doomed:
            _reset(sock)
        self._acceptor.join(timeout=5)
        for thread in list(self._threads):
            thread.join(timeout=5)

    @property
    def alive_threads(self) -> int:
        return sum(thread.is_alive() for thread in [self._acceptor, *self._threads])

    # Forwarding --------------------------------------------------------------------------------

    def _accept_loop(self) -> None:
        while True:
            try:
                readable, _, _ = select.select([self._listener], [], [], _POLL_SECONDS)
            except (OSError, ValueError):
                return  # the listener was closed
            with self._lock:
                if self._closing:
                    return
            if not readable:
                continue
            try:
                client, _address = self._listener.accept()
            except OSError:
                return
            with self._lock:
                refused = self._cut or self._closing
            if refused:
                _reset(client)
                continue
            thread = threading.Thread(target=self._serve, args=(client,), daemon=True)
            self._threads = [t for t in self._threads if t.is_alive()]
            self._threads.append(thread)
            thread.start()

    def _serve(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(self.upstream, timeout=5)
        except OSError:
            _reset(client)
            return
        upstream.settimeout(None)
        with self._lock:
            if self._cut or self._closing:
                refused = True
            else:
                refused = False
                self._open.update((client, upstream))
                self.connections += 1
        if refused:
            _reset(client)
            _reset(upstream)
            return
        try:
            self._pump(client, upstream)
        finally:
            with self._lock:
                self._open.discard(client)
                self._open.discard(upstream)
            _reset(client)
            _reset(upstream)

    def _pump(self, client: socket.socket, upstream: socket.socket) -> None:
        caught: list[Hold] = []  # the hold this connection's request fell into, if any
        delayed: list[tuple[socket.socket, bytes]] = []  # read while stalled, in order
        while True:
            with self._lock:
                if self._closing:
                    return
                stalled = self._stalled
            try:
                if delayed and not stalled:  # the link is back: what waited goes first
                    for source, data in delayed:
                        self._forward(source, data, client, upstream, caught)
                    delayed.clear()
                readable, _, _ = select.select([client, upstream], [], [], _POLL_SECONDS)
                for source in readable:
                    data = source.recv(_CHUNK)
                    if not data:
                        return
                    if stalled:
                        delayed.append((source, data))
                    else:
                        self._forward(source, data, client, upstream, caught)
            except (OSError, ValueError):
                return  # reset by `cut()`, or the other side went away

    def _forward(
        self,
        source: socket.socket,
        data: bytes,
        client: socket.socket,
        upstream: socket.socket,
        caught: list[Hold],
    ) -> None:
        if source is client:
            if not caught and (hold := self._catch(data)) is not None:
                caught.append(hold)
            if caught:
                caught[0].request.extend(data)
                if not caught[0].forward_request:
                    return  # swallowed: the peer never sees it
            upstream.sendall(data)
        else:
            if caught:
                caught[0].answered.set()
                return  # withheld: the client never hears
            client.sendall(data)

    def _catch(self, data: bytes) -> Hold | None:
        with self._lock:
            armed = self._hold
            if armed is None or not data.startswith(armed.prefix):
                return None
            self._hold = None
        armed.held.set()
        return armed
