"""SHIM (helper `service`): the console package comes from helper `console`; deleted at merge."""
