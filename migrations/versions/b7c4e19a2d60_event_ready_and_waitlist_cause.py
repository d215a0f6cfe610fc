"""An event's "ready" (who said so, when), the waitlist's cause, and event dates within the plan's years.

Only a ready draft is opened by the clock; a waitlisted registration says whether it waits because the
session is full (it moves up by itself) or because the organiser decided so (with a reason). Existing
drafts are left not ready: the organiser marks them ready (or opens them by hand).

Revision ID: b7c4e19a2d60
Revises: 556393cc421e
Create Date: 2026-12-02 06:30:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'b7c4e19a2d60'
down_revision = '556393cc421e'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ready_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('ready_by_user_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_events_ready_by_user_id_users'), 'users', ['ready_by_user_id'],
                                    ['id'], ondelete='SET NULL')
        batch_op.create_check_constraint(batch_op.f('ck_events_ready_by_needs_ready_at'),
                                         'ready_by_user_id IS NULL OR ready_at IS NOT NULL')
        batch_op.create_check_constraint(batch_op.f('ck_events_dates_in_plan_years'),
                                         "starts_on >= '2024-01-01' AND ends_on <= '2100-12-31'")
    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('waitlist_cause', sa.String(length=20), nullable=True))
        batch_op.create_check_constraint(batch_op.f('ck_registrations_waitlist_cause_known'),
                                         "waitlist_cause IS NULL OR waitlist_cause IN ('full', 'organiser')")
    # Waitlisted rows so far were all treated as "moves up by itself".
    op.execute("UPDATE registrations SET waitlist_cause = 'full' WHERE status = 'waitlisted'")


def downgrade():
    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_registrations_waitlist_cause_known'), type_='check')
        batch_op.drop_column('waitlist_cause')
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_events_dates_in_plan_years'), type_='check')
        batch_op.drop_constraint(batch_op.f('ck_events_ready_by_needs_ready_at'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_events_ready_by_user_id_users'), type_='foreignkey')
        batch_op.drop_column('ready_by_user_id')
        batch_op.drop_column('ready_at')
