"""Adapters to systems outside Sésame (identity provider, directory); they import the domain."""
