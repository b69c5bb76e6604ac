"""The ways in: LiteLLM's Router, ``acompletion``, the LiteLLM proxy, a small HTTP app, LiteLLM's complexity router."""
