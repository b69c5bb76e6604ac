"""The offline proxy walkthrough (`make proxy-demo`): a fake upstream and a stock `litellm --config`
proxy with the plugin, both on loopback, driven by the `openai` client; everything it starts is
stopped at the end.

What it shows: routed calls and their decision headers, a tier forced through request metadata, a
budget refusal (429), an open circuit breaker (503), the proxy's /router/stats, and an unlisted key
refused by the demo auth. No key and no network: every tier is a model of the fake upstream
(plugin-offline.yaml), priced per token in the config.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import openai

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
KEY = "sk-alice-ml"  # listed in demo_keys.yaml: user alice, team ml
SIMPLE = "Hi there! What's the capital of France?"
MODERATE = "Summarise the plot of Hamlet in three sentences for a high-school student."
HARD = "Prove rigorously that there are infinitely many primes, then derive a bound on the n-th prime."


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(
                f"{url} exited with {proc.returncode}; its log ({log}):\n{log.read_text(errors='replace')[-3000:]}"
            )
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    sys.exit(f"{url} did not answer within {timeout:.0f} s; its log: {log}")


@contextmanager
def processes(workdir: Path) -> Iterator[list[tuple[subprocess.Popen[bytes], Path]]]:
    """Processes started inside are stopped (terminate, then kill) on the way out, whatever happens."""
    started: list[tuple[subprocess.Popen[bytes], Path]] = []
    try:
        yield started
    finally:
        for proc, _ in started:
            proc.terminate()
        for proc, _ in started:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        print(f"\nstopped {len(started)} processes ({', '.join(str(p.pid) for p, _ in started)}).")


def spawn(started: list[Any], workdir: Path, name: str, args: list[str], env: dict[str, str], cwd: Path) -> Any:
    log = workdir / f"{name}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(args, cwd=cwd, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT)
    started.append((proc, log))
    return proc, log


def ask(client: openai.OpenAI, prompt: str, **kwargs: Any) -> Any:
    return client.chat.completions.with_raw_response.create(
        model="auto", messages=[{"role": "user", "content": prompt}], **kwargs
    )


def show(label: str, call: Any) -> None:
    """One line for a call: its decision headers, or the error the proxy answered."""
    try:
        raw = call()
    except openai.APIStatusError as exc:
        error = exc.response.json().get("error", {})
        retry = exc.response.headers.get("retry-after")
        after = f", Retry-After: {retry}s" if retry else ""
        message = str(error.get("message", "")).strip().splitlines()[0]  # LiteLLM appends a note on later lines
        print(f"  {label:<30} -> {exc.status_code} {error.get('type')}{after}: {message}")
        return
    h = raw.headers
    answer = raw.parse().choices[0].message.content
    print(
        f"  {label:<30} -> 200 tier={h['x-router-tier']} model={h['x-router-model']} "
        f"category={h['x-router-category']} est=${float(h['x-router-estimated-cost']):.6f} answer={answer!r}"
    )


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="lrp-proxy-demo-"))
    upstream_port, proxy_port = free_port(), free_port()
    upstream = f"http://127.0.0.1:{upstream_port}"
    proxy = f"http://127.0.0.1:{proxy_port}"
    plugin_config = workdir / "plugin-offline.yaml"
    text = (HERE / "plugin-offline.yaml").read_text(encoding="utf-8")
    plugin_config.write_text(text.replace("http://127.0.0.1:9100", upstream), encoding="utf-8")

    with processes(workdir) as started:
        print(f"fake upstream on {upstream}, proxy on {proxy} (loopback only); logs in {workdir}")
        proc, log = spawn(
            started, workdir, "upstream",
            [sys.executable, "-m", "litellm_router_plugin.tools.fake_upstream", "--port", str(upstream_port)],
            {}, HERE,
        )  # fmt: skip
        wait_http(f"{upstream}/hits", proc, log, 60)
        # Offline, deterministic prices: LiteLLM's bundled price map, chosen explicitly for the demo.
        env = {
            "LITELLM_ROUTER_PLUGIN_CONFIG": str(plugin_config),
            "LITELLM_LOG": "ERROR",
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        }
        command = ["litellm", "--config", "config.yaml", "--host", "127.0.0.1", "--port", str(proxy_port)]
        print(f"starting: LITELLM_ROUTER_PLUGIN_CONFIG=plugin-offline.yaml {' '.join(command)}  (~20 s)")
        proc, log = spawn(started, workdir, "proxy", [str(BIN / command[0]), *command[1:]], env, HERE)
        wait_http(f"{proxy}/health/liveliness", proc, log, 180)

        with openai.OpenAI(base_url=f"{proxy}/v1", api_key=KEY, max_retries=0, timeout=30) as client:
            print("\n1. Routed by the classifier (decision in the x-router-* response headers):")
            show("simple prompt", lambda: ask(client, SIMPLE, max_tokens=50))
            show("moderate prompt", lambda: ask(client, MODERATE, max_tokens=200))
            show("hard prompt", lambda: ask(client, HARD, max_tokens=500))

            print('\n2. A tier forced by the client (metadata {"router": {"tier": "reasoning"}}):')
            forced = {"metadata": {"router": {"tier": "reasoning"}}}
            show("simple prompt, forced", lambda: ask(client, SIMPLE, max_tokens=50, extra_body=forced))

            print("\n3. A budget refusal (per_key daily $0.02 in plugin-offline.yaml), before any call is made:")
            show("hard prompt, max_tokens=4000", lambda: ask(client, HARD, max_tokens=4000))

            print("\n4. An open circuit breaker: the fake upstream's large-a now fails every call with 503.")
            failing = {"large-a": {"error_rate": 1.0, "error_status": 503}}
            httpx.post(f"{upstream}/control", json=failing).raise_for_status()
            attempts = []
            for i in range(1, 4):
                before = httpx.get(f"{upstream}/hits").json().get("large-a", 0)
                show(f"forced to reasoning, call {i}", lambda: ask(client, HARD, max_tokens=50, extra_body=forced))
                attempts.append(httpx.get(f"{upstream}/hits").json().get("large-a", 0) - before)
            print(
                f"  attempts that reached large-a, per call: {attempts} "
                "(call 1: LiteLLM's retries, until the breaker opened; then none: refused before sending)"
            )
            httpx.post(f"{upstream}/control", json={"large-a": {"error_rate": 0.0}}).raise_for_status()

            print("\n5. Spend from the proxy's ledger (GET /router/stats, behind the proxy's key auth):")
            stats = httpx.get(f"{proxy}/router/stats", headers={"Authorization": f"Bearer {KEY}"}, timeout=10).json()
            by_tier = ", ".join(f"{tier} ${usd:.6f}" for tier, usd in stats["by_tier"].items())
            print(
                f"  {stats['calls']} calls ({stats['failed']} failed): ${stats['total_usd']:.6f} spent vs "
                f"${stats['strongest_usd']:.6f} all on the strongest tier; by tier: {by_tier}"
            )

        print("\n6. A key not listed in demo_keys.yaml:")
        with openai.OpenAI(base_url=f"{proxy}/v1", api_key="sk-made-up", max_retries=0, timeout=30) as stranger:
            show("sk-made-up", lambda: ask(stranger, SIMPLE, max_tokens=50))


if __name__ == "__main__":
    main()
