"""The HTTP routes, one blueprint per audience (registered in app.py)."""
