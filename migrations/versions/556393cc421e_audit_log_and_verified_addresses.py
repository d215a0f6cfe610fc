"""Audit log (security events, institution views of SME details included) and verified addresses.

The rows of detail_view_logs move into audit_events as "details_viewed" events; accounts that exist
already count as verified (they were made before verification by mail existed).

Revision ID: 556393cc421e
Revises: 9a782fa289ee
Create Date: 2026-12-01 23:16:47.388813

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '556393cc421e'
down_revision = '9a782fa289ee'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('audit_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('occurred_at', sa.DateTime(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('actor_user_id', sa.Integer(), nullable=True),
    sa.Column('subject_user_id', sa.Integer(), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('enterprise_id', sa.Integer(), nullable=True),
    sa.Column('institution_id', sa.Integer(), nullable=True),
    sa.Column('region_code', sa.String(length=6), nullable=True),
    sa.Column('client_address', sa.String(length=45), nullable=False),
    sa.Column('user_agent', sa.String(length=200), nullable=False),
    sa.Column('detail', sa.String(length=500), nullable=False),
    sa.CheckConstraint("kind IN ('sign_in', 'sign_in_failed', 'sign_in_throttled', 'sign_out', 'session_expired', 'sign_up', 'sign_up_address_taken', 'email_verified', 'password_changed', 'password_reset_requested', 'password_reset', 'status_changed', 'institution_reviewed', 'export_downloaded', 'details_viewed')", name=op.f('ck_audit_events_kind_known')),
    sa.ForeignKeyConstraint(['actor_user_id'], ['users.id'], name=op.f('fk_audit_events_actor_user_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprises.id'], name=op.f('fk_audit_events_enterprise_id_enterprises'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'], name=op.f('fk_audit_events_institution_id_institutions'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['subject_user_id'], ['users.id'], name=op.f('fk_audit_events_subject_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events'))
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index('ix_audit_events_enterprise_occurred', ['enterprise_id', 'occurred_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_institution_id'), ['institution_id'], unique=False)
        batch_op.create_index('ix_audit_events_kind_occurred', ['kind', 'occurred_at'], unique=False)
        batch_op.create_index('ix_audit_events_occurred_at', ['occurred_at'], unique=False)
        batch_op.create_index('ix_audit_events_region_occurred', ['region_code', 'occurred_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_subject_user_id'), ['subject_user_id'], unique=False)

    op.execute(
        "INSERT INTO audit_events (occurred_at, kind, actor_user_id, subject_user_id, email, enterprise_id, "
        "institution_id, region_code, client_address, user_agent, detail) "
        "SELECT v.viewed_at, 'details_viewed', v.user_id, NULL, COALESCE(u.email, ''), v.enterprise_id, "
        "v.institution_id, e.region_code, '', '', v.page "
        "FROM detail_view_logs v JOIN enterprises e ON e.id = v.enterprise_id LEFT JOIN users u ON u.id = v.user_id "
        "ORDER BY v.id")
    with op.batch_alter_table('detail_view_logs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_detail_view_logs_enterprise_id'))
        batch_op.drop_index(batch_op.f('ix_detail_view_logs_institution_id'))

    op.drop_table('detail_view_logs')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_verified_at', sa.DateTime(), nullable=True))
    op.execute("UPDATE users SET email_verified_at = created_at")


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('email_verified_at')

    op.create_table('detail_view_logs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('enterprise_id', sa.Integer(), nullable=False),
    sa.Column('page', sa.String(length=200), nullable=False),
    sa.Column('viewed_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprises.id'], name=op.f('fk_detail_view_logs_enterprise_id_enterprises'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'], name=op.f('fk_detail_view_logs_institution_id_institutions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_detail_view_logs_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_detail_view_logs'))
    )
    with op.batch_alter_table('detail_view_logs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_detail_view_logs_institution_id'), ['institution_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_detail_view_logs_enterprise_id'), ['enterprise_id'], unique=False)
    op.execute(
        "INSERT INTO detail_view_logs (institution_id, user_id, enterprise_id, page, viewed_at) "
        "SELECT institution_id, actor_user_id, enterprise_id, substr(detail, 1, 200), occurred_at FROM audit_events "
        "WHERE kind = 'details_viewed' AND institution_id IS NOT NULL AND enterprise_id IS NOT NULL ORDER BY id")

    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_events_subject_user_id'))
        batch_op.drop_index('ix_audit_events_region_occurred')
        batch_op.drop_index('ix_audit_events_occurred_at')
        batch_op.drop_index('ix_audit_events_kind_occurred')
        batch_op.drop_index(batch_op.f('ix_audit_events_institution_id'))
        batch_op.drop_index('ix_audit_events_enterprise_occurred')

    op.drop_table('audit_events')
