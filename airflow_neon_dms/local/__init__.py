"""The local DMS emulator, the Neon proxy stand-in and the embedded PostgreSQL (development, tests)."""
