"""Operator commands: run from a checkout with `make`, never deployed (not under chalicelib/)."""
