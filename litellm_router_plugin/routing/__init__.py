"""Planning: the tier map with LiteLLM's prices, the planner, and the decision it returns."""
