"""SHIM (issue-14-selfservice): stands in for helper `accounts`' package until it is merged;
deleted at merge. Only the names self-service uses, with the contract's signatures."""
