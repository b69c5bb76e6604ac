"""Offline tools: the demo and a fake OpenAI-compatible upstream."""
