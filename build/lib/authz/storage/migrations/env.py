"""Alembic environment for authz.

SqlStorage.migrate() runs this with a live connection in `config.attributes["connection"]`
(already inside a transaction, and holding the migration lock). Run from the command line
(`alembic -c alembic.ini ...`), it connects to the URL in `sqlalchemy.url` or, when that is
empty, to the environment variable AUTHZ_DATABASE_URL; that path takes no migration lock.

Either way all pending migrations run in one transaction (SQLite included), with SQLite's
foreign keys enforced. A future SQLite table rebuild (op.batch_alter_table) must therefore
run `PRAGMA defer_foreign_keys = ON` first: `foreign_keys` cannot be switched off inside a
transaction, and dropping a referenced table would otherwise fail.
"""

from __future__ import annotations

import os
from logging.config import fileConfig

from alembic import context
from sqlalchemy.engine import Connection

from authz.storage.schema import metadata
from authz.storage.sql import create_storage_engine

config = context.config


def database_url() -> str:
    url = config.get_main_option("sqlalchemy.url") or os.environ.get("AUTHZ_DATABASE_URL", "")
    if not url:
        raise RuntimeError("set AUTHZ_DATABASE_URL to the database to migrate")
    return url


def run_with(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=metadata)
    with context.begin_transaction():
        context.run_migrations()


def run_offline() -> None:
    context.configure(url=database_url(), target_metadata=metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        run_with(connection)
        return
    engine = create_storage_engine(database_url())
    try:
        # One transaction around all pending migrations, as SqlStorage.migrate() has; left to
        # itself Alembic would commit after each one on SQLite.
        with engine.begin() as connection:
            run_with(connection)
    finally:
        engine.dispose()


if config.config_file_name is not None and config.attributes.get("connection") is None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)

if context.is_offline_mode():
    run_offline()
else:
    run_online()
