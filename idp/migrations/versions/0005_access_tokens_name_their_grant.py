"""access tokens name their grant: grant.reference

Access tokens are no longer stored: each carries its grant's random reference (``gid``), and
userinfo, introspection and revocation find the grant by it (idp.oauth.records).

Expand only (docs/operations.md, "Upgrading"): during a rolling upgrade the old pods still insert grants
without a reference (the new code gives such a grant one at its first token request) and still
write ``access_token`` rows. The table is dropped by a migration of the release after.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 18:40:00
"""

import secrets

from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('grant', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reference', sa.String(length=32), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_grant_reference'), ['reference'])

    # Existing grants get a reference too, so their tokens keep working after a refresh.
    grant = sa.table('grant', sa.column('id', sa.Integer), sa.column('reference', sa.String))
    connection = op.get_bind()
    ids = connection.execute(sa.select(grant.c.id).where(grant.c.reference.is_(None))).scalars()
    for grant_id in list(ids):
        connection.execute(grant.update().where(grant.c.id == grant_id)
                           .values(reference=secrets.token_urlsafe(16)))


def downgrade():
    with op.batch_alter_table('grant', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_grant_reference'), type_='unique')
        batch_op.drop_column('reference')
