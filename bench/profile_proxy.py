"""Where a proxy request's CPU goes: cProfile over steady-state requests, stock beside plugin.

Starts the fake upstream (0 ms) and the proxy variants (see ``proxy_stack.py``) under
``profiled_litellm.py``; for each in turn, warms it up and profiles ``--requests`` requests at
``--concurrency`` from the load generator's process, then prints the top functions by own and by
cumulative time (microseconds per request), the plugin's own functions, and the proxy's CPU per
request by thread (cProfile sees only the event loop's: LiteLLM runs part of every call in a
thread pool). With two or more variants, each is compared with the first: function calls per
request (exact, whatever the machine's load) and own time per request, the largest differences
first. cProfile slows everything (about 2x with the wall-clock timer, far more with ``--timer cpu``)
and counts every resumption of a coroutine as a call: compare entries, not absolute figures.

Run: ``.venv/bin/python bench/profile_proxy.py --variant stock,plugin-memory`` (or ``make
profile-proxy``, ``VARIANT=`` to choose); ``--save out.prof`` keeps the raw stats (snakeviz, pstats).
"""

from __future__ import annotations

import argparse
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


def thread_cpu(pid: int) -> dict[str, float]:
    """CPU seconds (utime + stime) of each thread of ``pid``, by ``name/tid`` (the event loop's is ``pid``)."""
    tck = os.sysconf("SC_CLK_TCK")
    found: dict[str, float] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            stat = (task / "stat").read_text()
        except FileNotFoundError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        label = "event loop" if task.name == str(pid) else f"{name}/{task.name}"
        found[label] = (int(fields[11]) + int(fields[12])) / tck
    return found


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


def diff(base: Path, base_n: int, other: Path, other_n: int, top: int) -> None:
    """What ``other`` does per request that ``base`` does not: functions by extra calls and by extra
    own time per request (calls are exact whatever the machine's load; times are the timer's)."""
    a = pstats.Stats(str(base)).stats  # type: ignore[attr-defined]
    b = pstats.Stats(str(other)).stats  # type: ignore[attr-defined]
    zero = (0, 0, 0.0, 0.0, {})
    rows = []
    for key in set(a) | set(b):
        ra, rb = a.get(key, zero), b.get(key, zero)
        rows.append((short(key), ra[1] / base_n, rb[1] / other_n, 1e6 * ra[2] / base_n, 1e6 * rb[2] / other_n))
    calls_a, calls_b = sum(r[1] for r in rows), sum(r[2] for r in rows)
    own_a, own_b = sum(r[3] for r in rows), sum(r[4] for r in rows)
    print(
        f"\nper request: {calls_a:.0f} -> {calls_b:.0f} function calls ({calls_b / calls_a - 1:+.1%}), "
        f"{own_a:.0f} -> {own_b:.0f} us profiled ({own_b / own_a - 1:+.1%})"
    )
    for title, col in (("extra calls", 1), ("extra own time", 3)):
        print(f"\nBy {title} per request\n| function | calls base | calls | own us base | own us |")
        print("|---|---|---|---|---|")
        for r in sorted(rows, key=lambda r: r[col] - r[col + 1])[:top]:
            print(f"| {r[0]} | {r[1]:.2f} | {r[2]:.2f} | {r[3]:.1f} | {r[4]:.1f} |")


def profile(stack: Stack, name: str, args: argparse.Namespace, out: Path) -> tuple[Path, int]:
    """Warm ``name`` up, profile ``args.requests`` requests; the stats file and the request count."""
    proxy = stack.proxies[name]
    proxy.load(600, args.concurrency, args.warmup)
    os.kill(proxy.proc.pid, signal.SIGUSR1)
    time.sleep(0.5)
    threads_before = thread_cpu(proxy.proc.pid)
    sample = proxy.load(3600, args.concurrency, args.requests)
    threads = thread_cpu(proxy.proc.pid)
    os.kill(proxy.proc.pid, signal.SIGUSR2)
    path = Path(f"{out}.{proxy.proc.pid}")
    deadline = time.monotonic() + 60
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(0.2)  # the file appears complete (written, then renamed: profiled_litellm.py)
    print(f"\n=== {name}")
    if sample.errors:
        print(f"warning: {sample.errors} requests failed")
    print(
        f"{name}: {sample.requests} requests at concurrency {args.concurrency}, "
        f"{sample.rps:.1f} req/s under the profiler, {sample.cpu_ms_per_request:.2f} ms CPU per request"
    )
    used = {t: cpu - threads_before.get(t, 0.0) for t, cpu in threads.items()}
    by_thread = sorted(used.items(), key=lambda kv: -kv[1])
    per_request = [f"{t} {1000 * c / max(1, sample.requests):.2f} ms" for t, c in by_thread if c > 0]
    print("proxy CPU per request by thread (cProfile sees the event loop's only): " + ", ".join(per_request))
    report(path, sample.requests, args.top)
    return path, sample.requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--variant",
        default="plugin-memory",
        help=f"comma-separated, from {', '.join(VARIANTS)}; with two or more, each is compared with the first",
    )
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument(
        "--timer", choices=("wall", "cpu"), default="wall", help="cpu: the thread's CPU time (robust to a busy machine)"
    )
    parser.add_argument("--save", type=Path, help="also keep the raw cProfile stats here (<save>.<variant>)")
    args = parser.parse_args()
    variants = args.variant.split(",")
    unknown = sorted(set(variants) - set(VARIANTS))
    if unknown:
        parser.error(f"unknown variants {unknown}; choose from {', '.join(VARIANTS)}")

    work = Path(tempfile.mkdtemp(prefix="profile-proxy-"))
    out = work / "proxy.prof"
    os.environ["BENCH_PROFILE_OUT"] = str(out)
    os.environ["BENCH_PROFILE_TIMER"] = args.timer
    stack = Stack(variants, work, launcher=[sys.executable, str(HERE / "profiled_litellm.py")])
    try:
        done = [profile(stack, name, args, out) for name in variants]
        for name, (path, n) in zip(variants[1:], done[1:], strict=True):
            print(f"\n=== {name} against {variants[0]}")
            diff(done[0][0], done[0][1], path, n, args.top)
        if args.save:
            for name, (path, _) in zip(variants, done, strict=True):
                shutil.copy(path, f"{args.save}.{name}")
    finally:
        stack.close()


if __name__ == "__main__":
    main()
