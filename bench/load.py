"""The load generator's loops: closed (as fast as the server answers, for throughput) and open
(a fixed arrival rate, for latency at a given load). Latencies are in seconds.

An *operation* is an ``async def op(user) -> None`` that raises on a wrong answer; a *user* is
one virtual client with its own keep-alive connection and cookie jar (``User``).
"""

import asyncio
import time
from dataclasses import dataclass, field

from bench.httpclient import Connection


@dataclass
class User:
    conn: Connection
    cookies: dict[str, str] = field(default_factory=dict)
    state: dict = field(default_factory=dict)

    def cookie_header(self) -> dict:
        if not self.cookies:
            return {}
        return {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}


class OutOfWork(Exception):
    """The operation's pool (codes, tokens) is empty: the phase ends early."""


@dataclass
class Sample:
    latencies: list[float]
    errors: int
    elapsed: float
    first_error: str = ""
    #: Every operation that completed, warm-up included (what the server's CPU time was spent on).
    completed: int = 0

    @property
    def count(self) -> int:
        return len(self.latencies)

    def summary(self) -> dict:
        ordered = sorted(self.latencies)

        def pct(p):
            if not ordered:
                return None
            return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000

        return {
            "requests": self.count,
            "errors": self.errors,
            "seconds": round(self.elapsed, 3),
            "per_second": round(self.count / self.elapsed, 1) if self.elapsed else 0.0,
            "p50_ms": pct(50), "p95_ms": pct(95), "p99_ms": pct(99),
            **({"first_error": self.first_error} if self.first_error else {}),
        }


async def _users(host, port, n) -> list[User]:
    return [User(Connection(host, port)) for _ in range(n)]


async def closed_loop(host, port, op, users: int, seconds: float, warmup: float = 0.3) -> Sample:
    """``users`` clients each repeat ``op`` back to back; only the time after ``warmup`` counts."""
    pool = await _users(host, port, users)
    latencies: list[float] = []
    errors = [0, ""]
    completed = [0]
    start = time.perf_counter()
    measure_from = start + warmup
    deadline = measure_from + seconds
    done = asyncio.Event()

    async def run(user):
        while not done.is_set():
            began = time.perf_counter()
            if began >= deadline:
                return
            try:
                await op(user)
            except OutOfWork:
                done.set()
                return
            except Exception as error:  # a wrong answer counts as an error, the loop goes on
                errors[0] += began >= measure_from
                errors[1] = errors[1] or f"{type(error).__name__}: {error}"[:300]
                user.conn.close()
                continue
            ended = time.perf_counter()
            completed[0] += 1
            if began >= measure_from:
                latencies.append(ended - began)

    await asyncio.gather(*(run(user) for user in pool))
    elapsed = min(time.perf_counter(), deadline) - measure_from
    for user in pool:
        user.conn.close()
    return Sample(latencies, errors[0], max(elapsed, 1e-9), errors[1], completed[0])


async def open_loop(host, port, op, rate: float, seconds: float, users: int = 64) -> Sample:
    """Requests arrive at ``rate`` per second whatever the server does; a latency runs from the
    request's scheduled time, so queueing behind a slow one counts (no coordinated omission)."""
    pool = await _users(host, port, users)
    latencies: list[float] = []
    errors = [0, ""]
    total = int(rate * seconds)
    next_index = [0]
    start = time.perf_counter() + 0.05

    async def run(user):
        while True:
            index = next_index[0]
            if index >= total:
                return
            next_index[0] += 1
            scheduled = start + index / rate
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            try:
                await op(user)
            except OutOfWork:
                next_index[0] = total
                return
            except Exception as error:
                errors[0] += 1
                errors[1] = errors[1] or f"{type(error).__name__}: {error}"[:300]
                user.conn.close()
                continue
            latencies.append(time.perf_counter() - scheduled)

    await asyncio.gather(*(run(user) for user in pool))
    elapsed = time.perf_counter() - start
    for user in pool:
        user.conn.close()
    return Sample(latencies, errors[0], elapsed, errors[1])
