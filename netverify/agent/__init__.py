"""The long-running agent: daemon loop, schedule, state, health, metrics, notify, logs, self-checks."""
