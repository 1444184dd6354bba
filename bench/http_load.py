"""A small threaded HTTP load client for benchmarks: one keep-alive ``requests.Session`` per thread,
a timed window after an uncounted warm-up, every call timed with ``time.perf_counter()``.

    window = run_window(call, threads=8, seconds=20, warmup=2)
    window.summary()  # {"per_second", "p50_ms", "p99_ms", "calls", "errors"}

``call(session, thread, number)`` sends one request and returns its response; any status outside
2xx is an error. ``keep(thread, response)``, when given, sees each counted 2xx response after its
latency was taken (to collect what a create returned, say), so parsing it is not timed.
"""

from __future__ import annotations

import math
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests

Call = Callable[[requests.Session, int, int], requests.Response]
Keep = Callable[[int, requests.Response], None]


def percentile(ordered: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an already sorted list (0 when empty)."""
    if not ordered:
        return 0.0
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


@dataclass
class Window:
    """What the threads saw in the counted window."""

    seconds: float
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    samples: list[str] = field(default_factory=list)

    @property
    def errors(self) -> int:
        return sum(count for status, count in self.statuses.items() if not status.startswith("2"))

    def summary(self) -> dict[str, Any]:
        ordered = sorted(self.latencies)
        calls = len(ordered)
        result: dict[str, Any] = {
            "per_second": round(calls / self.seconds, 1) if self.seconds else 0.0,
            "p50_ms": round(percentile(ordered, 0.50) * 1000, 2),
            "p99_ms": round(percentile(ordered, 0.99) * 1000, 2),
            "calls": calls,
            "errors": self.errors,
        }
        if self.errors:
            result["statuses"] = dict(self.statuses)
            result["error_samples"] = self.samples[:3]
        return result


def _send(call: Call, session: requests.Session, thread: int, number: int) -> tuple[float, str, Any]:
    began = time.perf_counter()
    try:
        response: Any = call(session, thread, number)
        status = str(response.status_code)
    except requests.RequestException as exc:
        response, status = exc, type(exc).__name__
    return time.perf_counter() - began, status, response


def _worker(call: Call, keep: Keep | None, thread: int, clock: dict[str, float], window: Window) -> None:
    """One thread: calls until the warm-up ends (not counted), then counts calls until the window ends."""
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    samples: list[str] = []
    number = 0
    with requests.Session() as session:
        while time.perf_counter() < clock["start"]:
            _send(call, session, thread, number)
            number += 1
        while True:
            elapsed, status, response = _send(call, session, thread, number)
            number += 1
            if time.perf_counter() > clock["end"]:
                break  # finished after the window closed: not counted
            latencies.append(elapsed)
            statuses[status] += 1
            if status.startswith("2"):
                if keep is not None:
                    keep(thread, response)
            elif len(samples) < 3:
                samples.append(f"{status}: {getattr(response, 'text', str(response))[:300]}")
    with _LOCK:
        window.latencies.extend(latencies)
        window.statuses.update(statuses)
        window.samples.extend(samples)


_LOCK = threading.Lock()


def run_window(
    call: Call, *, threads: int = 8, seconds: float = 20.0, warmup: float = 2.0, keep: Keep | None = None
) -> Window:
    """Run ``call`` on ``threads`` threads: ``warmup`` seconds uncounted, then ``seconds`` counted."""
    now = time.perf_counter()
    clock = {"start": now + warmup, "end": now + warmup + seconds}
    window = Window(seconds=seconds)
    workers = [
        threading.Thread(target=_worker, args=(call, keep, thread, clock, window), daemon=True)
        for thread in range(threads)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return window
