"""A fake OpenAI-compatible upstream on loopback, for tests and benchmarks.

``/v1/chat/completions`` answers with ``usage``; per model, ``POST /control`` sets latency, an error
rate with its status (500, 429), hangs past the client's timeout and malformed JSON. ``GET /hits``
counts the requests each model received. Run: ``litellm-router fake-upstream --port 9100``.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field


class Behaviour(BaseModel):
    """How one model answers."""

    latency_ms: float = Field(default=0.0, ge=0)
    error_rate: float = Field(default=0.0, ge=0, le=1)
    error_status: int = 500
    hang: bool = False
    """Never answer (until the client gives up)."""
    malformed: bool = False
    """Answer 200 with a body that is not JSON."""
    completion_tokens: int = Field(default=20, ge=0)


def create_app(seed: int = 0) -> FastAPI:
    """A fresh fake upstream (its own behaviours and counters)."""
    app = FastAPI(title="fake upstream")
    behaviours: dict[str, Behaviour] = {}
    hits: Counter[str] = Counter()
    rng = random.Random(seed)

    @app.post("/control")
    async def control(changes: dict[str, Behaviour]) -> dict[str, Any]:
        behaviours.update(changes)
        return {m: b.model_dump() for m, b in behaviours.items()}

    @app.post("/reset")
    async def reset() -> dict[str, str]:
        behaviours.clear()
        hits.clear()
        return {"status": "ok"}

    @app.get("/hits")
    async def get_hits() -> dict[str, int]:
        return dict(hits)

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> Response:
        body = await request.json()
        model = str(body.get("model", ""))
        hits[model] += 1
        how = behaviours.get(model, Behaviour())
        if how.hang:
            await asyncio.sleep(3600)
        if how.latency_ms:
            await asyncio.sleep(how.latency_ms / 1000)
        if how.error_rate and rng.random() < how.error_rate:
            kind = "rate_limit_error" if how.error_status == 429 else "server_error"
            return JSONResponse({"error": {"message": f"injected {how.error_status}", "type": kind}}, how.error_status)
        if how.malformed:
            return Response("{not json", media_type="application/json")
        words = sum(len(str(m.get("content", "")).split()) for m in body.get("messages", []))
        prompt_tokens = max(1, int(words * 1.3))
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": how.completion_tokens,
            "total_tokens": prompt_tokens + how.completion_tokens,
        }
        if body.get("stream"):
            return StreamingResponse(_sse(model, f"answer from {model}", usage), media_type="text/event-stream")
        return JSONResponse(
            {
                "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": f"answer from {model}"},
                        "finish_reason": "stop",
                    }
                ],
                "usage": usage,
            }
        )

    return app


async def _sse(model: str, text: str, usage: dict[str, int]) -> AsyncIterator[str]:
    """The answer as OpenAI-style server-sent events: one chunk a word, then the finish and usage."""
    base = {"id": f"chatcmpl-{uuid.uuid4().hex[:12]}", "object": "chat.completion.chunk", "model": model}
    created = int(time.time())
    for i, word in enumerate(text.split(" ")):
        delta = {"role": "assistant", "content": word} if i == 0 else {"content": " " + word}
        chunk = {**base, "created": created, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
        yield f"data: {json.dumps(chunk)}\n\n"
    done = {**base, "created": created, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}], "usage": usage}
    yield f"data: {json.dumps(done)}\n\n"
    yield "data: [DONE]\n\n"


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
