"""Security tests by threat, one module per class (issue 5, "Hardening of every response")."""
