"""Persistence: a Protocol (base.py) and its SQLAlchemy implementation (sql.py)."""
