"""The benchmarks' delay proxy (benchmarks/delay_proxy.py, issue #26): it adds its round trip to
each request, and concurrent connections wait it out side by side, not one after the other (the
latency section's batch comparison depends on it: a proxy that serialised connections would make
the parallel chunks lose to sequential ones)."""

from __future__ import annotations

import http.client
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from delay_proxy import DelayProxy

RTT_MS = 200
CONCURRENT = 8


class _Ok(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        body = b"ok"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def proxy() -> Iterator[DelayProxy]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with DelayProxy(f"http://127.0.0.1:{server.server_address[1]}", rtt_ms=RTT_MS) as started:
            yield started
    finally:
        server.shutdown()
        server.server_close()


def _get(port: int) -> float:
    """Seconds of one request on a connection of its own (opened before the clock starts)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.connect()
        start = time.monotonic()
        connection.request("GET", "/")
        answer = connection.getresponse()
        assert answer.read() == b"ok"
        return time.monotonic() - start
    finally:
        connection.close()


def test_a_request_waits_the_round_trip(proxy: DelayProxy) -> None:
    assert _get(proxy.port) >= RTT_MS / 1000 * 0.95  # half each way; the clocks' granularity aside


def test_concurrent_connections_are_delayed_side_by_side(proxy: DelayProxy) -> None:
    with ThreadPoolExecutor(CONCURRENT) as pool:
        start = time.monotonic()
        each = list(pool.map(lambda _: _get(proxy.port), range(CONCURRENT)))
        elapsed = time.monotonic() - start
    assert min(each) >= RTT_MS / 1000 * 0.95
    # one after the other they could not take less than CONCURRENT round trips (1.6 s)
    assert elapsed < CONCURRENT * RTT_MS / 1000 / 2, f"{elapsed:.2f} s for {CONCURRENT} concurrent requests"
