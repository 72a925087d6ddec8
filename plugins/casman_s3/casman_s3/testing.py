"""Real misbehaving servers on 127.0.0.1 for testing S3 clients (this backend or a plugin's).

Each is a real listening socket driven by a thread, so the client under test goes through
its whole network stack (connect, send, wait, time out) exactly as against a broken store:

- :func:`blackhole` accepts connections and never answers (a hung server or proxy);
- :func:`full_backlog` never completes a connection (SYN dropped: a firewalled host);
- :func:`answering` answers every request with one fixed HTTP response (500, a huge
  Content-Length…) and counts the requests it saw;
- :func:`closed_port` is a port nobody listens on (connection refused).

Every server stops when its ``with`` block ends; no test waits on one for longer than its
own timeouts.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

_HOLD_SECONDS = 30.0
"""How long a server keeps a silent connection open at most (a test times out well before)."""


@dataclass
class Server:
    """A running test server: its endpoint URL, the connections it accepted and the
    request lines it read (a blackhole reads none)."""

    url: str
    connections: int = 0
    requests: list[str] = field(default_factory=list)


def closed_port() -> str:
    """An endpoint URL on a port nobody listens on: connecting is refused at once."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def _listener(backlog: int) -> socket.socket:
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen(backlog)
    return server


def _url(server: socket.socket) -> str:
    host, port = server.getsockname()[:2]
    return f"http://{host}:{port}"


@contextmanager
def blackhole() -> Iterator[Server]:
    """An endpoint that accepts every connection and never answers (nor reads) anything."""
    server = _listener(16)
    state = Server(_url(server))
    stop = threading.Event()
    held: list[socket.socket] = []

    def serve() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except (TimeoutError, OSError):
                continue
            state.connections += 1
            held.append(connection)  # kept open, never written to

    thread = threading.Thread(target=serve, name="blackhole", daemon=True)
    thread.start()
    try:
        yield state
    finally:
        stop.set()
        thread.join(timeout=2)
        for connection in held:
            connection.close()
        server.close()


@contextmanager
def full_backlog() -> Iterator[str]:
    """An endpoint whose accept queue is full, so a new connection never completes.

    The listener never calls ``accept``; with a backlog of 0 the kernel queues one
    connection (made here) and drops the SYN of every later one, which is what a
    firewalled or overloaded host looks like to a client: a connect timeout.
    """
    server = _listener(0)
    fillers: list[socket.socket] = []
    try:
        for _ in range(2):
            filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            filler.setblocking(False)
            filler.connect_ex(server.getsockname())
            fillers.append(filler)
        yield _url(server)
    finally:
        for filler in fillers:
            filler.close()
        server.close()


def _read_request(connection: socket.socket) -> str | None:
    """The request line of one request (headers and a Content-Length body consumed)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = connection.recv(65536)
        if not chunk:
            break
        body += chunk
    return lines[0]


@contextmanager
def answering(
    status: int,
    *,
    headers: dict[str, str | None] | None = None,
    body: bytes = b"",
    hang_after_body: bool = False,
    then_close_port: bool = False,
) -> Iterator[Server]:
    """An endpoint that answers every request with ``status``, ``headers`` and ``body``.

    ``Content-Length`` defaults to ``len(body)``; set it in ``headers`` to announce more
    than is sent (or to None to send none, for a chunked body), with ``hang_after_body``
    to then keep the connection open and silent (a huge object whose bytes never need to
    arrive). ``then_close_port`` stops listening
    after the first answer, so a retry finds the port closed (connection refused).
    """
    server = _listener(16)
    state = Server(_url(server))
    stop = threading.Event()
    reason = {200: "OK", 404: "Not Found", 412: "Precondition Failed", 500: "Server Error"}
    fields: dict[str, str | None] = {
        "Content-Length": str(len(body)),
        "Content-Type": "application/xml",
    }
    fields.update(headers or {})
    if not hang_after_body:
        fields["Connection"] = "close"
    head = f"HTTP/1.1 {status} {reason.get(status, 'Status')}\r\n" + "".join(
        f"{name}: {value}\r\n" for name, value in fields.items() if value is not None
    )

    def handle(connection: socket.socket) -> None:
        with connection:
            connection.settimeout(_HOLD_SECONDS)
            try:
                line = _read_request(connection)
                if line is None:
                    return
                state.requests.append(line)
                if then_close_port:
                    server.close()  # before answering, so no retry can still connect
                is_head = line.startswith("HEAD ")
                connection.sendall(head.encode("latin-1") + b"\r\n" + (b"" if is_head else body))
                if hang_after_body:
                    stop.wait(_HOLD_SECONDS)
            except OSError:
                return

    def serve() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except (TimeoutError, OSError):
                continue
            state.connections += 1
            if then_close_port:
                handle(connection)
                return
            threading.Thread(target=handle, args=(connection,), daemon=True).start()

    thread = threading.Thread(target=serve, name=f"answering-{status}", daemon=True)
    thread.start()
    try:
        yield state
    finally:
        stop.set()
        thread.join(timeout=2)
        server.close()
