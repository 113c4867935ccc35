"""Account operations (a SHIM in branch issue-12-console until helper `accounts` lands)."""
