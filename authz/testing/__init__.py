"""Test support: the server harness, seeded synthetic worlds and the README's example organization."""
