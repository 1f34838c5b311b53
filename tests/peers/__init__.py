"""Real servers the tests talk to (Squid), and the small test servers around them."""
