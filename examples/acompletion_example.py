"""litellm.acompletion's signature, with routing for model="auto". Runs offline (mock responses).

python examples/acompletion_example.py
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import litellm_router_plugin as lrp


async def main() -> None:
    lrp.configure(Path(__file__).with_name("config.yaml"))
    response = await lrp.acompletion(
        model="auto",
        messages=[{"role": "user", "content": "Write a SQL query returning the top 5 products by revenue."}],
        max_tokens=300,
        mock_response="SELECT ...",  # remove to call the real provider
    )
    decision = response._hidden_params["router_decision"]
    print(f"routed to {decision['model']} ({decision['tier']}): {decision['reason']}")
    print(response.choices[0].message.content)

    # Any other model name is called as named, and governed like the rest (budgets, breaker, ledger).
    named = await lrp.acompletion(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], mock_response="hello"
    )
    print("called as named:", named._hidden_params["router_decision"]["model"])


if __name__ == "__main__":
    asyncio.run(main())
