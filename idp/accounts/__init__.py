"""SHIM (helper `service`): stands in for helper `accounts`' package until it is merged; deleted
at merge. Only the names of /work/briefs/accounts-interface.md that bulk import uses."""
