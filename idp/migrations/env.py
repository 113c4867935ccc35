"""Alembic environment: runs migrations on the app's own engine (see idp.cli.db)."""

from alembic import context

from idp.extensions import db
import idp.models  # noqa: F401  (registers every table on the metadata)

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=db.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
