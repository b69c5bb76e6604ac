"""The stock litellm.acompletion / litellm.completion with model="router/auto", after register().
Runs offline: every deployment answers with its own mock response.

python examples/register_example.py
"""

from __future__ import annotations

import asyncio
import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # LiteLLM's bundled prices: no network at import
import litellm

import litellm_router_plugin as lrp

# Deployments answer with mock responses (`mock_response` in their litellm_params: remove it, and set
# the providers' keys, to call them). A `mock_response` passed to litellm.acompletion itself would
# answer before the plugin is reached, so it goes here.
CONFIG = {
    "tiers": [
        {"name": "cheap", "deployments": [{"model": "gpt-4o-mini", "litellm_params": {"mock_response": "Lima."}}]},
        {"name": "strong", "deployments": [{"model": "gpt-4o", "litellm_params": {"mock_response": "Suppose..."}}]},
    ],
    "budgets": {"global": {"daily": 5.0}},
}
EASY = [{"role": "user", "content": "What is the capital of Peru?"}]
HARD = [{"role": "user", "content": "Prove rigorously that there are infinitely many primes."}]


async def main() -> None:
    lrp.register(CONFIG)  # or lrp.register("config.yaml"); lrp.register() for the built-in tiers
    for messages in (EASY, HARD):
        response = await litellm.acompletion(model="router/auto", messages=messages, max_tokens=200)
        decision = response._hidden_params["router_decision"]
        print(f"routed to {decision['model']} ({decision['tier']}): {response.choices[0].message.content}")

    forced = await litellm.acompletion(model="router/strong", messages=EASY)  # a tier name forces the tier
    print(f"router/strong -> {forced._hidden_params['router_decision']['model']}")

    stream = await litellm.acompletion(model="router/auto", messages=HARD, stream=True, max_tokens=200)
    text = "".join([chunk.choices[0].delta.content or "" async for chunk in stream])
    print(f"streamed from {stream._hidden_params['router_decision']['model']}: {text}")

    # The synchronous litellm.completion works too, here inside a running event loop.
    sync = litellm.completion(model="router/auto", messages=EASY)
    print(f"litellm.completion -> {sync._hidden_params['router_decision']['model']}")


if __name__ == "__main__":
    asyncio.run(main())
