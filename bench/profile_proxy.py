"""Where a proxy request's CPU goes: cProfile over a few thousand steady-state requests.

Starts the fake upstream (0 ms) and one proxy variant (see ``proxy_stack.py``) under
``profiled_litellm.py``, warms it up, profiles ``--requests`` requests at ``--concurrency``, then
prints the top functions by own time and by cumulative time (microseconds per request), and the
plugin's own functions by cumulative time. cProfile slows everything about 2x and counts every
resumption of a coroutine as a call: compare entries, not absolute figures.

Run: ``.venv/bin/python bench/profile_proxy.py --variant plugin-redis`` (or ``make profile-proxy``);
``--variant stock`` gives the baseline; ``--save out.prof`` keeps the raw stats (snakeviz, pstats).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import pstats
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

from proxy_stack import VARIANTS, Stack

HERE = Path(__file__).resolve().parent
PACKAGE = "litellm_router_plugin"


def short(key: tuple[str, int, str]) -> str:
    filename, line, name = key
    if filename == "~":
        return name
    parts = Path(filename).parts
    for anchor in (PACKAGE, "litellm", "site-packages", "lib"):
        if anchor in parts:
            idx = len(parts) - 1 - parts[::-1].index(anchor)
            rel = "/".join(parts[idx + (anchor in ("site-packages", "lib")) :])
            return f"{rel}:{line}({name})"
    return f"{filename}:{line}({name})"


def report(path: Path, requests: int, top: int) -> None:
    stats = pstats.Stats(str(path))
    rows = stats.stats  # type: ignore[attr-defined]
    total = sum(tt for _, _, tt, _, _ in rows.values())
    print(f"profiled {requests} requests; {1e6 * total / requests:.0f} us of profiled time per request")

    def table(title: str, items: list[tuple[tuple[str, int, str], tuple[int, int, float, float, object]]]) -> None:
        print(f"\n{title}\n| us/request own | us/request cumulative | calls/request | function |\n|---|---|---|---|")
        for key, (_, nc, tt, ct, _) in items[:top]:
            print(f"| {1e6 * tt / requests:.1f} | {1e6 * ct / requests:.1f} | {nc / requests:.2f} | {short(key)} |")

    everything = list(rows.items())
    table("Top by own time", sorted(everything, key=lambda kv: -kv[1][2]))
    table("Top by cumulative time", sorted(everything, key=lambda kv: -kv[1][3]))
    ours = [kv for kv in everything if f"/{PACKAGE}/" in kv[0][0]]
    table(f"{PACKAGE} by cumulative time", sorted(ours, key=lambda kv: -kv[1][3]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variant", default="plugin-redis", choices=VARIANTS)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--save", type=Path, help="also keep the raw cProfile stats here")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="profile-proxy-"))
    out = work / "proxy.prof"
    os.environ["BENCH_PROFILE_OUT"] = str(out)
    stack = Stack([args.variant], work, launcher=[sys.executable, str(HERE / "profiled_litellm.py")])
    try:
        proxy = stack.proxies[args.variant]
        asyncio.run(proxy.load(600, args.concurrency, args.warmup))
        os.kill(proxy.proc.pid, signal.SIGUSR1)
        time.sleep(0.5)
        sample = asyncio.run(proxy.load(3600, args.concurrency, args.requests))
        os.kill(proxy.proc.pid, signal.SIGUSR2)
        deadline = time.monotonic() + 60
        while not out.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1.0)  # let the dump finish
        if sample.errors:
            print(f"warning: {sample.errors} requests failed")
        print(
            f"{args.variant}: {sample.requests} requests at concurrency {args.concurrency}, "
            f"{sample.rps:.1f} req/s under the profiler, {sample.cpu_ms_per_request:.2f} ms CPU per request"
        )
        report(out, sample.requests, args.top)
        if args.save:
            shutil.copy(out, args.save)
    finally:
        stack.close()


if __name__ == "__main__":
    main()
