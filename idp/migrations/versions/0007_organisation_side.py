"""organisation side

What the staff console, SCIM provisioning and parent self-service keep: staff roles, disabled
accounts, the provisioning client's externalId and a version per account, when an invitation was
opened, single-use account links (password reset, new authenticator), the organisation's helpdesk
contact and four-eyes setting, and the organisation and IP of audit events. Also drops the
``access_token`` table that 0005 stopped using (docs/operations.md, "Upgrading": dropped one release later).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 08:59:48.475745
"""

from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('account_link',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('purpose', sa.String(length=32), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=True),
    sa.Column('totp_secret_encrypted', sa.LargeBinary(), nullable=True),
    sa.Column('requested_by', sa.String(length=150), nullable=False),
    sa.Column('approved_by', sa.String(length=150), nullable=True),
    sa.Column('approved_at', sa.Integer(), nullable=True),
    sa.Column('issued_at', sa.Integer(), nullable=False),
    sa.Column('expires_at', sa.Integer(), nullable=False),
    sa.Column('opened_at', sa.Integer(), nullable=True),
    sa.Column('used_at', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_account_link_account_id_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_account_link')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_account_link_token_hash'))
    )
    with op.batch_alter_table('account_link', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_account_link_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_account_link_expires_at'), ['expires_at'], unique=False)

    with op.batch_alter_table('access_token', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_access_token_grant_id'))

    op.drop_table('access_token')
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('disabled_at', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('last_sign_in_at', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('role', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('external_id', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('updated_at', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('version', sa.Integer(), server_default='1', nullable=False))
        batch_op.create_unique_constraint('uq_account_organisation_external_id', ['organisation_id', 'external_id'])
        batch_op.create_index('ix_account_organisation_id_email', ['organisation_id', 'email'], unique=False)

    with op.batch_alter_table('activation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('opened_at', sa.Integer(), nullable=True))

    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('organisation_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('ip', sa.String(length=45), nullable=True))
        batch_op.create_index(batch_op.f('ix_audit_event_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_event_target'), ['target'], unique=False)

    with op.batch_alter_table('organisation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('helpdesk_contact', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('four_eyes_reset', sa.Boolean(), server_default=sa.false(), nullable=False))



def downgrade():
    with op.batch_alter_table('organisation', schema=None) as batch_op:
        batch_op.drop_column('four_eyes_reset')
        batch_op.drop_column('helpdesk_contact')

    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_event_target'))
        batch_op.drop_index(batch_op.f('ix_audit_event_organisation_id'))
        batch_op.drop_column('ip')
        batch_op.drop_column('organisation_id')

    with op.batch_alter_table('activation', schema=None) as batch_op:
        batch_op.drop_column('opened_at')

    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.drop_index('ix_account_organisation_id_email')
        batch_op.drop_constraint('uq_account_organisation_external_id', type_='unique')
        batch_op.drop_column('version')
        batch_op.drop_column('updated_at')
        batch_op.drop_column('external_id')
        batch_op.drop_column('role')
        batch_op.drop_column('last_sign_in_at')
        batch_op.drop_column('disabled_at')

    op.create_table('access_token',
    sa.Column('id', sa.INTEGER(), nullable=False),
    sa.Column('jti', sa.VARCHAR(length=64), nullable=False),
    sa.Column('grant_id', sa.INTEGER(), nullable=False),
    sa.Column('expires_at', sa.INTEGER(), nullable=False),
    sa.Column('revoked_at', sa.INTEGER(), nullable=True),
    sa.ForeignKeyConstraint(['grant_id'], ['grant.id'], name=op.f('fk_access_token_grant_id_grant'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_access_token')),
    sa.UniqueConstraint('jti', name=op.f('uq_access_token_jti'))
    )
    with op.batch_alter_table('access_token', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_access_token_grant_id'), ['grant_id'], unique=False)

    with op.batch_alter_table('account_link', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_account_link_expires_at'))
        batch_op.drop_index(batch_op.f('ix_account_link_account_id'))

    op.drop_table('account_link')
