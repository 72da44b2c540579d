"""Alembic environment: runs on the connection that engine.store.db.migrate hands over."""

from alembic import context
from sqlmodel import SQLModel

import engine.store.models  # noqa: F401  (registers the tables)

connection = context.config.attributes.get("connection")
if connection is None:
    from engine.store.db import make_engine

    connection = make_engine().connect()

context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
