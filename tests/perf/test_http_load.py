"""The benchmarks' load client (bench/http_load.py) counts what it sends, tells errors apart and keeps
its connections alive; run for a second against a tiny local server, no figure asserted."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from bench.http_load import percentile, run_window


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as gunicorn's gthread worker
    connections: set[int] = set()

    def do_GET(self) -> None:
        Handler.connections.add(self.client_address[1])  # the client port: one per connection
        status = 500 if self.path.startswith("/bad") else 200
        body = b'{"n": "%s"}' % self.path.encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_it_counts_every_call_in_the_window_and_keeps_the_connections_alive(server: str) -> None:
    Handler.connections.clear()
    kept: list[str] = []

    def call(session: requests.Session, thread: int, number: int) -> requests.Response:
        return session.get(f"{server}/ok/{thread}/{number}", timeout=5)

    window = run_window(call, threads=2, seconds=1.0, warmup=0.2, keep=lambda _t, r: kept.append(r.text))
    summary = window.summary()

    assert summary["calls"] > 0
    assert summary["errors"] == 0
    assert summary["calls"] == len(window.latencies) == len(kept) == window.statuses["200"]
    assert summary["per_second"] == round(summary["calls"] / 1.0, 1)
    assert 0 < summary["p50_ms"] <= summary["p99_ms"]
    assert len(Handler.connections) == 2  # one connection per thread, warm-up included


def test_it_reports_non_2xx_answers_as_errors_with_a_sample(server: str) -> None:
    def call(session: requests.Session, thread: int, number: int) -> requests.Response:
        return session.get(f"{server}/{'bad' if number % 2 else 'ok'}", timeout=5)

    summary = run_window(call, threads=1, seconds=0.5, warmup=0).summary()

    assert summary["errors"] > 0
    assert summary["statuses"]["500"] == summary["errors"]
    assert summary["statuses"]["200"] + summary["errors"] == summary["calls"]
    assert summary["error_samples"][0].startswith('500: {"n": "/bad"}')


def test_percentiles_are_nearest_rank() -> None:
    ordered = [float(value) for value in range(1, 101)]

    assert percentile(ordered, 0.50) == 50.0
    assert percentile(ordered, 0.99) == 99.0
    assert percentile([7.0], 0.99) == 7.0
    assert percentile([], 0.5) == 0.0
