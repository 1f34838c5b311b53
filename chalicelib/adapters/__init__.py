"""Adapters to the organisation's systems (directory, enforcement, identity provider)."""
