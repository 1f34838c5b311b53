"""The local stack (not deployed): AWS emulator, tables, SES sender and the app on loopback."""
