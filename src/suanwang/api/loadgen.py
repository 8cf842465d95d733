"""A small closed-loop HTTP/1.1 load generator (asyncio streams, keep-alive).

Each of ``clients`` connections sends one request, waits for the whole response, records
(latency, status), and sends the next, until the deadline: the standard closed-loop model (as
wrk/ab with -c connections). It parses only the status line and Content-Length, so one Python
process can drive thousands of requests per second without becoming the bottleneck the way a
full client library would.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field

Request = tuple[str, str, bytes | None]  # method, path, JSON body


@dataclass
class Tally:
    """Latencies (s) of completed requests by kind, and failures (non-2xx or transport)."""

    latencies: dict[str, list[float]] = field(default_factory=dict)
    ok: dict[str, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    bodies: list[bytes] = field(default_factory=list)
    keep_bodies: int = 0

    def add(self, kind: str, seconds: float, status: int, body: bytes) -> None:
        self.latencies.setdefault(kind, []).append(seconds)
        if 200 <= status < 300:
            self.ok[kind] = self.ok.get(kind, 0) + 1
            if len(self.bodies) < self.keep_bodies:
                self.bodies.append(body)
        else:
            self.errors[kind] = self.errors.get(kind, 0) + 1


async def _exchange(reader, writer, host: str, token: str, req: Request) -> tuple[int, bytes]:
    method, path, body = req
    head = (f"{method} {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
            f"Connection: keep-alive\r\n")
    if body is not None:
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    writer.write(head.encode() + b"\r\n" + (body or b""))
    await writer.drain()
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("server closed the connection")
    status = int(status_line.split()[1])
    length = 0
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b"\n", b""):
            break
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    return status, await reader.readexactly(length) if length else b""


async def _client(host: str, port: int, token: str, next_request: Callable[[int], Request],
                  kind_of: Callable[[Request], str], deadline: float, tally: Tally,
                  n: int) -> None:
    reader = writer = None
    i = 0
    while time.perf_counter() < deadline:
        req = next_request(n * 1_000_003 + i)
        i += 1
        t0 = time.perf_counter()
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection(host, port)
            status, body = await asyncio.wait_for(
                _exchange(reader, writer, f"{host}:{port}", token, req), timeout=30)
        except (TimeoutError, OSError, ValueError, asyncio.IncompleteReadError):
            status, body = 0, b""
            if writer is not None:
                writer.close()
            reader = writer = None
        tally.add(kind_of(req), time.perf_counter() - t0, status, body)
    if writer is not None:
        writer.close()


def run_load(*, host: str, port: int, tokens: list[str], clients: int, duration_s: float,
             next_request: Callable[[int], Request], kind_of: Callable[[Request], str],
             keep_bodies: int = 0) -> Tally:
    """Drive ``clients`` concurrent keep-alive connections for ``duration_s`` seconds."""
    tally = Tally(keep_bodies=keep_bodies)

    async def main() -> None:
        deadline = time.perf_counter() + duration_s
        await asyncio.gather(*(_client(host, port, tokens[n % len(tokens)], next_request,
                                       kind_of, deadline, tally, n) for n in range(clients)))

    asyncio.run(main())
    return tally


def json_body(doc: object) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode()
