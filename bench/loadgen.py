"""The proxy benchmark's load generator: an aiohttp client in its own process, driven over stdin.

In the benchmark's process, an httpx client shares the interpreter (and, on a 2-core machine, much of
a core) with the bookkeeping, and may become the bottleneck that flattens the differences between
proxies. Here each command is one load window, run on uvloop with one aiohttp session per proxy URL
and concurrency, kept between windows (connections stay warm). The proxy's CPU is read from
``/proc/<pid>/stat`` right at the window's edges, in this process.

Protocol: one JSON object per line on stdin ``{"url", "pid", "model", "seconds", "concurrency",
"requests"?, "key", "body"}``; one JSON result per line on stdout ``{"requests", "errors", "seconds",
"cpu_seconds", "own_cpu_seconds", "latencies_ms", "error_sample"}``. EOF ends it.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp

_CLK_TCK = os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid: int) -> float:
    """utime + stime of ``pid`` and its live descendants, from ``/proc/<pid>/stat``."""
    total = 0
    pending = [pid]
    while pending:
        p = pending.pop()
        try:
            stat = Path(f"/proc/{p}/stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()  # fields from 3 (state) on
            total += int(fields[11]) + int(fields[12])  # 14 utime, 15 stime (clock ticks)
            for task in Path(f"/proc/{p}/task").iterdir():
                pending += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total / _CLK_TCK


class LoadGenerator:
    """Load windows against proxies; sessions are kept per (url, concurrency)."""

    def __init__(self) -> None:
        self.sessions: dict[tuple[str, int], aiohttp.ClientSession] = {}

    def session(self, url: str, concurrency: int) -> aiohttp.ClientSession:
        found = self.sessions.get((url, concurrency))
        if found is None:
            connector = aiohttp.TCPConnector(limit=concurrency, keepalive_timeout=3600)
            timeout = aiohttp.ClientTimeout(total=60)
            found = self.sessions[(url, concurrency)] = aiohttp.ClientSession(url, connector=connector, timeout=timeout)
        return found

    async def window(self, cmd: dict[str, Any]) -> dict[str, Any]:
        session = self.session(cmd["url"], cmd["concurrency"])
        payload = json.dumps(cmd["body"]).encode()
        headers = {"Authorization": f"Bearer {cmd['key']}", "Content-Type": "application/json"}
        budget = cmd.get("requests") or -1
        latencies: list[float] = []
        errors: list[str] = []

        async def worker() -> None:
            nonlocal budget
            while time.monotonic() < stop and budget != 0:
                budget -= 1
                start = time.perf_counter()
                try:
                    async with session.post("/v1/chat/completions", data=payload, headers=headers) as response:
                        body = await response.read()
                        if response.status == 200:
                            latencies.append((time.perf_counter() - start) * 1000)
                        else:
                            errors.append(f"{response.status} {body[:200]!r}")
                except (TimeoutError, aiohttp.ClientError) as exc:
                    errors.append(repr(exc))

        cpu_before = process_cpu_seconds(cmd["pid"])
        own_before = time.process_time()
        began = time.monotonic()
        stop = began + cmd["seconds"]
        await asyncio.gather(*(worker() for _ in range(cmd["concurrency"])))
        elapsed = time.monotonic() - began
        cpu = process_cpu_seconds(cmd["pid"]) - cpu_before
        return {
            "requests": len(latencies),
            "errors": len(errors),
            "seconds": elapsed,
            "cpu_seconds": cpu,
            "own_cpu_seconds": time.process_time() - own_before,
            "latencies_ms": latencies,
            "error_sample": errors[:3],
        }

    async def serve(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while line := await loop.run_in_executor(None, sys.stdin.readline):
                result = await self.window(json.loads(line))
                sys.stdout.write(json.dumps(result) + "\n")
                sys.stdout.flush()
        finally:
            for session in self.sessions.values():
                await session.close()


def main() -> None:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop comes with litellm[proxy]
        asyncio.run(LoadGenerator().serve())
    else:
        uvloop.run(LoadGenerator().serve())


if __name__ == "__main__":
    main()
