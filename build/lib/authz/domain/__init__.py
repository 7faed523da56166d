"""Plain data and typed errors shared by every layer. Imports nothing outside the standard library."""
