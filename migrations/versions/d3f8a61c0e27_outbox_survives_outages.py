"""The outbox survives relay outages: send-by times, an `expired` status, when a row failed, the relay's state.

`notifications.not_after` (a reminder's send-by time: unsent by then it becomes `expired`), `failed_at` (for
`chainmatch outbox retry --since`; rows already failed get the time they were marked, which the old code
stored in `next_attempt_at`), the status CHECK gains `expired`, and `mail_relay_state` records a relay
outage once per delivery run instead of on every message.

Revision ID: d3f8a61c0e27
Revises: d3a8f61c2e47
Create Date: 2026-12-02 15:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = 'd3f8a61c0e27'
down_revision = 'd3a8f61c2e47'
branch_labels = None
depends_on = None

NEW_STATUSES = "status IN ('pending', 'sending', 'sent', 'failed', 'expired')"
OLD_STATUSES = "status IN ('pending', 'sending', 'sent', 'failed')"
KEPT_CHECKS = {"attempts_not_negative": "attempts >= 0"}


def _set_status_check(condition: str) -> None:
    if op.get_bind().dialect.name != 'sqlite':  # PostgreSQL swaps the CHECK in place
        op.drop_constraint(op.f('ck_notifications_status_known'), 'notifications', type_='check')
        op.create_check_constraint(op.f('ck_notifications_status_known'), 'notifications', condition)
        return
    # SQLite copies the table; nothing references notifications, so that cascades nowhere.
    with op.batch_alter_table('notifications', schema=None, recreate='always') as batch_op:
        batch_op.drop_constraint(op.f('ck_notifications_status_known'), type_='check')
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_check_constraint(op.f('ck_notifications_status_known'), condition)
    present = {c["name"] for c in sa.inspect(op.get_bind()).get_check_constraints("notifications")}
    missing = {name: check for name, check in KEPT_CHECKS.items() if f"ck_notifications_{name}" not in present}
    if missing:  # should a batch copy have lost them (older SQLite reflection)
        with op.batch_alter_table('notifications', schema=None) as batch_op:
            for name, check in missing.items():
                batch_op.create_check_constraint(op.f(f'ck_notifications_{name}'), check)


def upgrade():
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('not_after', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('failed_at', sa.DateTime(), nullable=True))
    op.execute("UPDATE notifications SET failed_at = next_attempt_at WHERE status = 'failed'")
    _set_status_check(NEW_STATUSES)

    op.create_table('mail_relay_state',
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('down_since', sa.DateTime(), nullable=True),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('next_try_at', sa.DateTime(), nullable=True),
    sa.Column('last_error', sa.String(length=1000), nullable=False),
    sa.Column('last_ok_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint('failures >= 0', name=op.f('ck_mail_relay_state_failures_not_negative')),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_mail_relay_state'))
    )


def downgrade():
    op.drop_table('mail_relay_state')
    # An expired row was never sent and never will be: it reads as failed in the old vocabulary.
    op.execute("UPDATE notifications SET status = 'failed' WHERE status = 'expired'")
    _set_status_check(OLD_STATUSES)
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_column('failed_at')
        batch_op.drop_column('not_after')
