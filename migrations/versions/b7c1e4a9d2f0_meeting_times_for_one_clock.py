"""Meetings store their absolute interval (starts_at, ends_at), so a party's meetings across sessions and
events can be found and compared by time; existing placed meetings are backfilled from their session's grid.

Revision ID: b7c1e4a9d2f0
Revises: b7c4e19a2d60
Create Date: 2026-12-02 06:40:00

"""
from datetime import timedelta

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'b7c1e4a9d2f0'
down_revision = 'b7c4e19a2d60'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('meetings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('starts_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('ends_at', sa.DateTime(), nullable=True))

    meetings = sa.table('meetings', sa.column('id', sa.Integer), sa.column('session_id', sa.Integer),
                        sa.column('slot', sa.Integer), sa.column('starts_at', sa.DateTime),
                        sa.column('ends_at', sa.DateTime))
    sessions = sa.table('event_sessions', sa.column('id', sa.Integer), sa.column('starts_at', sa.DateTime),
                        sa.column('slot_minutes', sa.Integer))
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(meetings.c.id, meetings.c.slot, sessions.c.starts_at, sessions.c.slot_minutes)
        .select_from(meetings.join(sessions, sessions.c.id == meetings.c.session_id))
        .where(meetings.c.slot.is_not(None))).all()
    for meeting_id, slot, session_start, minutes in rows:
        if not minutes:  # a slot in a session without a grid cannot be placed: take the slot away
            connection.execute(sa.text("UPDATE meetings SET slot = NULL, table_number = NULL WHERE id = :id"),
                               {"id": meeting_id})
            continue
        starts = session_start + timedelta(minutes=minutes * slot)
        connection.execute(meetings.update().where(meetings.c.id == meeting_id)
                           .values(starts_at=starts, ends_at=starts + timedelta(minutes=minutes)))

    with op.batch_alter_table('meetings', schema=None) as batch_op:
        batch_op.create_check_constraint(
            op.f('ck_meetings_times_with_slot'),
            "(slot IS NULL) = (starts_at IS NULL) AND (slot IS NULL) = (ends_at IS NULL) "
            "AND (starts_at IS NULL OR starts_at < ends_at)")
        batch_op.create_index('ix_meetings_enterprise_time', ['enterprise_id', 'starts_at'], unique=False)
        batch_op.create_index('ix_meetings_institution_time', ['institution_id', 'starts_at'], unique=False)


def downgrade():
    with op.batch_alter_table('meetings', schema=None) as batch_op:
        batch_op.drop_index('ix_meetings_institution_time')
        batch_op.drop_index('ix_meetings_enterprise_time')
        batch_op.drop_constraint(op.f('ck_meetings_times_with_slot'), type_='check')
        batch_op.drop_column('ends_at')
        batch_op.drop_column('starts_at')
