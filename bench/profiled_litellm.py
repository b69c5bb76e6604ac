"""``litellm`` (the proxy CLI) under cProfile, switched on and off by signals, so a profile covers
only the steady-state requests a driver sends, not start-up: SIGUSR1 starts profiling the event
loop's thread, SIGUSR2 stops and writes the stats to ``$BENCH_PROFILE_OUT.<pid>``. Used by profile_proxy.py."""

from __future__ import annotations

import cProfile
import os
import signal
import sys
import time
from types import FrameType

# The default (wall-clock) timer: a CPU-time timer (time.thread_time) is a system call here and
# tripled the profiler's overhead, skewing the figures towards functions called often. Profile on
# a quiet machine, or compare entries of one run rather than absolute figures.
# BENCH_PROFILE_TIMER=cpu counts the thread's CPU time instead (time.thread_time): slower, but
# the figures do not grow with the time the process waits for a core on a loaded machine.
profiler = cProfile.Profile(time.thread_time) if os.environ.get("BENCH_PROFILE_TIMER") == "cpu" else cProfile.Profile()


def _start(signum: int, frame: FrameType | None) -> None:
    profiler.enable()


def _stop(signum: int, frame: FrameType | None) -> None:
    profiler.disable()
    # Written under another name, then renamed: the driver reads the file as soon as it exists, and
    # a busy machine took more than its grace period to write it (it read a truncated profile).
    path = f"{os.environ['BENCH_PROFILE_OUT']}.{os.getpid()}"
    profiler.dump_stats(f"{path}.partial")
    os.replace(f"{path}.partial", path)


signal.signal(signal.SIGUSR1, _start)
signal.signal(signal.SIGUSR2, _stop)

if __name__ == "__main__":
    from litellm.proxy.proxy_cli import run_server

    sys.argv = ["litellm", *sys.argv[1:]]
    run_server()
