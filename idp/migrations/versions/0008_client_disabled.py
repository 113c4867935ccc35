"""client disabled

A relying party servicebeheer switched off (the console): it gets no codes or tokens and its
refresh tokens stop working, until it is switched on again. Nothing else of it is removed.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 09:32:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('client') as batch_op:
        batch_op.add_column(sa.Column('disabled_at', sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table('client') as batch_op:
        batch_op.drop_column('disabled_at')
