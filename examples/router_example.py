"""A litellm.Router that routes model="auto" by prompt difficulty. Runs offline (mock responses).

python examples/router_example.py
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from litellm_router_plugin import build_router


async def main() -> None:
    # Same file format as the proxy; LiteLLM Router options (retries, cooldowns, fallbacks) pass through.
    router = build_router(Path(__file__).with_name("config.yaml"), num_retries=2, cooldown_time=30)
    for prompt in ("What's the capital of Japan?", "Prove that the square root of 3 is irrational."):
        response = await router.acompletion(
            model="auto",
            messages=[{"role": "user", "content": prompt}],
            mock_response="(offline mock answer)",  # remove this line to call the real providers
        )
        decision = response._hidden_params["router_decision"]
        print(f"{prompt!r}\n  -> {decision['tier']} / {response.model}: {decision['reason']}")
        print(
            f"     estimated ${decision['estimated_cost_usd']:.6f}, "
            f"LiteLLM's response_cost ${response._hidden_params['response_cost']:.6f}"
        )


if __name__ == "__main__":
    asyncio.run(main())
