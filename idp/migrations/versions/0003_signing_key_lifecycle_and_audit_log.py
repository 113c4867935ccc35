"""signing key lifecycle and audit log

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 15:17:42.457702
"""

import time

from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('audit_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.Integer(), nullable=False),
    sa.Column('actor', sa.String(length=150), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('target', sa.String(length=200), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_event'))
    )
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_event_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_event_at'), ['at'], unique=False)

    # Workers racing at first use could have made a second active key per algorithm; keep the
    # newest active, retire the others, so the one-active-per-algorithm index can be made.
    op.execute(sa.text(
        "UPDATE signing_key SET state = 'retired', retired_at = :now "
        "WHERE state = 'active' AND id NOT IN "
        "(SELECT max(id) FROM signing_key WHERE state = 'active' GROUP BY alg)"
    ).bindparams(now=int(time.time())))

    with op.batch_alter_table('signing_key', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revoked_at', sa.Integer(), nullable=True))
        batch_op.create_index('uq_signing_key_active_alg', ['alg'], unique=True, sqlite_where=sa.text("state = 'active'"), postgresql_where=sa.text("state = 'active'"))
        batch_op.create_index('uq_signing_key_next_alg', ['alg'], unique=True, sqlite_where=sa.text("state = 'next'"), postgresql_where=sa.text("state = 'next'"))


def downgrade():
    with op.batch_alter_table('signing_key', schema=None) as batch_op:
        batch_op.drop_index('uq_signing_key_next_alg', sqlite_where=sa.text("state = 'next'"), postgresql_where=sa.text("state = 'next'"))
        batch_op.drop_index('uq_signing_key_active_alg', sqlite_where=sa.text("state = 'active'"), postgresql_where=sa.text("state = 'active'"))
        batch_op.drop_column('revoked_at')

    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_event_at'))
        batch_op.drop_index(batch_op.f('ix_audit_event_action'))

    op.drop_table('audit_event')
