"""client credentials

A client's grant types (RFC 7591 ``grant_types``; until now every client had the sign-in pair)
and the organisation a client-credentials client (SCIM provisioning) is bound to. And an index
on (organisation_id, lower(email)): an invitation checks the address in any case, which in an
organisation of a million parents was a full scan per invitation (bench/scim.py).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 09:20:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('client', schema=None) as batch_op:
        batch_op.add_column(sa.Column('grant_types', sa.String(length=200),
                                      server_default='authorization_code refresh_token',
                                      nullable=False))
        batch_op.add_column(sa.Column('organisation_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_client_organisation_id_organisation'),
                                    'organisation', ['organisation_id'], ['id'])
    if op.get_bind().dialect.name == "postgresql":  # idp.models.account: PostgreSQL only
        op.create_index('ix_account_organisation_id_lower_email', 'account',
                        ['organisation_id', sa.text('lower(email)')], unique=False)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index('ix_account_organisation_id_lower_email', table_name='account')
    with op.batch_alter_table('client', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_client_organisation_id_organisation'),
                                 type_='foreignkey')
        batch_op.drop_column('organisation_id')
        batch_op.drop_column('grant_types')
