"""Real servers the tests run against (loaded as pytest plugins from tests/conftest.py)."""
