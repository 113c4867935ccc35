"""Account operations shared by console, SCIM, CLI and self-service (idp.accounts.actions)."""
