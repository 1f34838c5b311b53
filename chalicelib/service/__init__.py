"""Use cases: submit, confirm, decide, and the read-only views behind e-mail links."""
