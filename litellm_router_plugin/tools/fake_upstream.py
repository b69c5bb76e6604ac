"""A fake OpenAI-compatible upstream on loopback, for tests and benchmarks.

``/v1/chat/completions`` answers with ``usage``; per model, ``POST /control`` sets latency, an error
rate with its status (500, 429), the first N requests failing, hangs past the client's timeout,
malformed JSON, canned answers, token logprobs, and an arithmetic mode that answers "What is A + B?"
correctly except on a known share of questions. ``n`` is honoured (``max_tokens`` with ``truncate``). ``GET /hits``
counts the requests each model received. Run: ``litellm-router fake-upstream --port 9100``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import re
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field


class Behaviour(BaseModel):
    """How one model answers."""

    latency_ms: float = Field(default=0.0, ge=0)
    error_rate: float = Field(default=0.0, ge=0, le=1)
    error_status: int = 500
    denied_keys: list[str] = Field(default_factory=list)
    """API keys answered with a 401 ``invalid_api_key`` (a wrong key in a deployment's config)."""
    hang: bool = False
    """Never answer (until the client gives up)."""
    malformed: bool = False
    """Answer 200 with a body that is not JSON."""
    completion_tokens: int = Field(default=20, ge=0)
    """Reported per choice."""
    truncate: bool = False
    """Report at most the request's ``max_tokens`` per choice, as a real provider does (off by
    default: some tests want usage beyond the estimate)."""
    prompt_tokens: int | None = Field(default=None, ge=1)
    """Reported prompt tokens; default about 1.3 per word of the messages."""
    cached_tokens: int = Field(default=0, ge=0)
    """Prompt tokens reported as read from the provider's prompt cache (``prompt_tokens_details``)."""
    fail_first: int = Field(default=0, ge=0)
    """The first N requests of this model fail with ``error_status`` (then ``error_rate`` applies)."""
    answers: list[str] = Field(default_factory=list)
    """Canned answers, one per choice in turn across requests; default ``answer from <model>``."""
    logprob: float | None = Field(default=None, le=0)
    """Mean token logprob returned when the request asks ``logprobs`` (omitted when ``None``)."""
    arithmetic_wrong_rate: float | None = Field(default=None, ge=0, le=1)
    """Answer "What is A + B?" with the sum, except on this share of questions (chosen by a hash of
    the model and question, so the same questions every run), where each answer is a random wrong
    number with a low logprob (-2.0; right answers -0.05)."""
    tool_arguments: dict[str, Any] | None = None
    """When the request offers tools: answer with a call of the first one with these arguments
    (no text, ``finish_reason: tool_calls``), streamed too."""


_SUM = re.compile(r"what is (-?\d+) \+ (-?\d+)", re.IGNORECASE)


def hard_for(model: str, question: str, wrong_rate: float) -> bool:
    """Whether ``model`` gets ``question`` wrong in arithmetic mode (a stable hash, not a coin)."""
    digest = hashlib.sha256(f"{model}|{question}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < wrong_rate


def _logprobs(text: str, mean: float) -> dict[str, Any]:
    tokens = text.split(" ") or [text]
    return {"content": [{"token": t, "logprob": mean, "bytes": list(t.encode()), "top_logprobs": []} for t in tokens]}


@dataclass
class _Upstream:
    """The state of one fake upstream: its behaviours and counters, and the answers it gives."""

    seed: int = 0
    behaviours: dict[str, Behaviour] = field(default_factory=dict)
    hits: Counter[str] = field(default_factory=Counter)
    served: Counter[str] = field(default_factory=Counter)  # choices answered per model, for canned answers

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    async def chat(self, body: dict[str, Any], authorization: str) -> Response:
        """One chat completion: the injected fault, if any, else the answer (streamed when asked)."""
        model = str(body.get("model", ""))
        self.hits[model] += 1
        how = self.behaviours.get(model, Behaviour())
        fault = await self._fault(model, how, authorization)
        if fault is not None:
            return fault
        messages = body.get("messages", [])
        words = sum(len(str(m.get("content", "")).split()) for m in messages)
        prompt_tokens = how.prompt_tokens or max(1, int(words * 1.3))
        n = int(body.get("n") or 1)
        limit = body.get("max_completion_tokens") or body.get("max_tokens")
        per_choice = min(how.completion_tokens, int(limit)) if limit and how.truncate else how.completion_tokens
        question = str(messages[-1].get("content", "")) if messages else ""
        choices = [self._choice(i, model, how, question, bool(body.get("logprobs"))) for i in range(n)]
        tools = body.get("tools") or []
        if how.tool_arguments is not None and tools:
            name = str(tools[0].get("function", {}).get("name", "tool"))
            call: dict[str, Any] = {"id": f"call_{uuid.uuid4().hex[:8]}", "type": "function"}
            call["function"] = {"name": name, "arguments": json.dumps(how.tool_arguments)}
            for choice in choices:
                choice.update(message={"role": "assistant", "content": None, "tool_calls": [call]})
                choice["finish_reason"] = "tool_calls"
        usage: dict[str, Any] = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": per_choice * n,
            "total_tokens": prompt_tokens + per_choice * n,
        }
        if how.cached_tokens:
            usage["prompt_tokens_details"] = {"cached_tokens": min(how.cached_tokens, prompt_tokens)}
        if body.get("stream"):
            message = choices[0]["message"]
            events = _sse(model, message["content"] or "", usage, message.get("tool_calls"))
            return StreamingResponse(events, media_type="text/event-stream")
        return JSONResponse(
            {
                "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "choices": choices,
                "usage": usage,
            }
        )

    async def _fault(self, model: str, how: Behaviour, authorization: str) -> Response | None:
        """A denied key (401), a hang or delay, an injected error, or a malformed body; else ``None``."""
        if authorization.removeprefix("Bearer ") in how.denied_keys:
            error = {
                "message": "Incorrect API key provided.",
                "type": "invalid_request_error",
                "code": "invalid_api_key",
            }
            return JSONResponse({"error": error}, 401)
        if how.hang:
            await asyncio.sleep(3600)
        if how.latency_ms:
            await asyncio.sleep(how.latency_ms / 1000)
        failing = self.hits[model] <= how.fail_first or (how.error_rate and self.rng.random() < how.error_rate)
        if failing:
            kind = "rate_limit_error" if how.error_status == 429 else "server_error"
            return JSONResponse({"error": {"message": f"injected {how.error_status}", "type": kind}}, how.error_status)
        if how.malformed:
            return Response("{not json", media_type="application/json")
        return None

    def _choice(self, index: int, model: str, how: Behaviour, question: str, logprobs: bool) -> dict[str, Any]:
        text, mean = self._answer(model, how, question, self.served[model])
        self.served[model] += 1
        choice: dict[str, Any] = {
            "index": index,
            "message": {"role": "assistant", "content": text},
            "finish_reason": "stop",
        }
        if logprobs and mean is not None:
            choice["logprobs"] = _logprobs(text, mean)
        return choice

    def _answer(self, model: str, how: Behaviour, question: str, count: int) -> tuple[str, float | None]:
        if how.arithmetic_wrong_rate is not None:
            found = _SUM.search(question)
            if found:
                right = int(found.group(1)) + int(found.group(2))
                if hard_for(model, question, how.arithmetic_wrong_rate):
                    return str(right + self.rng.choice([-3, -2, -1, 1, 2, 3, 10])), -2.0
                return str(right), -0.05
        if how.answers:
            return how.answers[count % len(how.answers)], how.logprob
        return f"answer from {model}", how.logprob


def create_app(seed: int = 0) -> FastAPI:
    """A fresh fake upstream (its own behaviours and counters)."""
    app = FastAPI(title="fake upstream")
    upstream = _Upstream(seed)

    @app.post("/control")
    async def control(changes: dict[str, Behaviour]) -> dict[str, Any]:
        upstream.behaviours.update(changes)
        return {m: b.model_dump() for m, b in upstream.behaviours.items()}

    @app.post("/reset")
    async def reset() -> dict[str, str]:
        upstream.behaviours.clear()
        upstream.hits.clear()
        upstream.served.clear()
        return {"status": "ok"}

    @app.get("/hits")
    async def get_hits() -> dict[str, int]:
        return dict(upstream.hits)

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> Response:
        return await upstream.chat(await request.json(), request.headers.get("authorization", ""))

    return app


async def _sse(
    model: str, text: str, usage: dict[str, Any], tool_calls: list[dict[str, Any]] | None = None
) -> AsyncIterator[str]:
    """The answer as OpenAI-style server-sent events: one chunk a word (or the tool calls, whole),
    then the finish and usage."""
    base = {"id": f"chatcmpl-{uuid.uuid4().hex[:12]}", "object": "chat.completion.chunk", "model": model}
    created = int(time.time())
    deltas: list[dict[str, Any]] = [
        {"role": "assistant", "content": word} if i == 0 else {"content": " " + word}
        for i, word in enumerate(text.split(" "))
    ]
    if tool_calls:
        deltas = [{"role": "assistant", "tool_calls": [{"index": i, **c} for i, c in enumerate(tool_calls)]}]
    for delta in deltas:
        chunk = {**base, "created": created, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
        yield f"data: {json.dumps(chunk)}\n\n"
    finish = "tool_calls" if tool_calls else "stop"
    done = {**base, "created": created, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}], "usage": usage}
    yield f"data: {json.dumps(done)}\n\n"
    yield "data: [DONE]\n\n"


class FakeUpstream:
    """A fake upstream served on a free loopback port from a thread of this process (``with`` it)."""

    def __init__(self, seed: int = 0) -> None:
        import uvicorn  # the [proxy] extra

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self.base = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            create_app(seed),
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="off",
            timeout_graceful_shutdown=1,  # a `hang` request must not hold the shutdown
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="fake-upstream", daemon=True)

    def start(self) -> FakeUpstream:
        """Serve, and wait until the port answers."""
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError(f"fake upstream did not start on {self.base}")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        """Stop serving and join the thread."""
        self.server.should_exit = True
        self.thread.join(10)

    def __enter__(self) -> FakeUpstream:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def control(self, **behaviours: dict[str, Any]) -> None:
        """Set models' behaviours (see ``Behaviour``)."""
        httpx.post(f"{self.base}/control", json=behaviours, timeout=5).raise_for_status()

    def reset(self) -> None:
        """Forget every behaviour and counter."""
        httpx.post(f"{self.base}/reset", timeout=5).raise_for_status()

    def hits(self) -> dict[str, int]:
        """Requests each model received."""
        return dict(httpx.get(f"{self.base}/hits", timeout=5).json())

    def deployment(self, name: str, price_in: float | None = None, price_out: float | None = None) -> dict[str, Any]:
        """A tier deployment served here: ``openai/<name>``, priced per token or by LiteLLM's table."""
        params: dict[str, Any] = {"api_base": f"{self.base}/v1", "api_key": "fake"}
        if price_in is not None or price_out is not None:
            params.update(input_cost_per_token=price_in or 0.0, output_cost_per_token=price_out or 0.0)
        return {"model": f"openai/{name}", "litellm_params": params}


def main() -> None:  # pragma: no cover - exercised by the end-to-end tests as a subprocess
    import argparse

    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", choices=["127.0.0.1", "localhost", "::1"])
    parser.add_argument("--port", type=int, default=9100)
    args = parser.parse_args()
    uvicorn.run(create_app(), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":  # pragma: no cover
    main()
