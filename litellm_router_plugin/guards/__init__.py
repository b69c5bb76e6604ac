"""What stands between a plan and a call: budgets, circuit breakers, admission, cost accounting."""
