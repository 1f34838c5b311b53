"""Real servers the tests run against (OpenID Provider, slapd, Squid) and the small test servers
around them; loaded as pytest plugins from tests/conftest.py."""
