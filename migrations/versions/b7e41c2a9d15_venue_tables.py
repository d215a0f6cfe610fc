"""Venue tables: the hall's numbered, labelled tables allotted to institutions per session.

Adds `event_sessions.table_area` and `table_digits` (the label "洽谈区 A 第 07 桌") and `venue_tables`.
Existing approved institution registrations of offline and hybrid matchmaking sessions get tables here,
in registration order, the lowest free numbers first and never a label that an overlapping session in the
same venue and room already holds; a hall too small leaves the rest for the organiser (matching,
publication and editing the session allot them or say how many tables are missing).

Revision ID: b7e41c2a9d15
Revises: b7c1e4a9d2f0
Create Date: 2026-12-02 06:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'b7e41c2a9d15'
down_revision = 'b7c1e4a9d2f0'
branch_labels = None
depends_on = None

MATCHMAKING_KINDS = ('equity_matching', 'credit_matching', 'insurance_matching', 'mna_matching',
                     'industry_matching', 'policy_matching')


def upgrade():
    op.add_column('event_sessions', sa.Column('table_area', sa.String(length=40), nullable=False, server_default=''))
    if op.get_bind().dialect.name == 'sqlite':
        # Not batch mode: recreating event_sessions would drop the old table, and with foreign keys on that
        # cascades to every registration and meeting. SQLite adds a column with its CHECK in place.
        op.execute("ALTER TABLE event_sessions ADD COLUMN table_digits INTEGER NOT NULL DEFAULT 2 "
                   "CONSTRAINT ck_event_sessions_table_digits_in_range CHECK (table_digits BETWEEN 1 AND 3)")
    else:
        op.add_column('event_sessions', sa.Column('table_digits', sa.Integer(), nullable=False, server_default='2'))
        op.create_check_constraint(op.f('ck_event_sessions_table_digits_in_range'), 'event_sessions',
                                   'table_digits BETWEEN 1 AND 3')

    op.create_table('venue_tables',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=80), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.Column('table_index', sa.Integer(), nullable=False),
    sa.CheckConstraint('number BETWEEN 1 AND 500', name=op.f('ck_venue_tables_number_in_range')),
    sa.CheckConstraint('table_index BETWEEN 1 AND 50', name=op.f('ck_venue_tables_table_index_in_range')),
    sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'], name=op.f('fk_venue_tables_institution_id_institutions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['session_id'], ['event_sessions.id'], name=op.f('fk_venue_tables_session_id_event_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_venue_tables')),
    sa.UniqueConstraint('session_id', 'institution_id', 'table_index', name=op.f('uq_venue_tables_session_id_institution_id_table_index')),
    sa.UniqueConstraint('session_id', 'label', name=op.f('uq_venue_tables_session_id_label')),
    sa.UniqueConstraint('session_id', 'number', name=op.f('uq_venue_tables_session_id_number'))
    )
    with op.batch_alter_table('venue_tables', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_venue_tables_institution_id'), ['institution_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_venue_tables_session_id'), ['session_id'], unique=False)

    _allot_existing()


def _allot_existing():
    connection = op.get_bind()
    sessions = sa.table('event_sessions', sa.column('id'), sa.column('kind'), sa.column('mode'),
                        sa.column('venue'), sa.column('room'), sa.column('starts_at'), sa.column('ends_at'),
                        sa.column('tables'))
    registrations = sa.table('registrations', sa.column('id'), sa.column('session_id'),
                             sa.column('institution_id'), sa.column('status'), sa.column('tables'))
    venue_tables = sa.table('venue_tables', sa.column('session_id'), sa.column('number'), sa.column('label'),
                            sa.column('institution_id'), sa.column('table_index'))
    rows = connection.execute(sa.select(sessions).where(sessions.c.kind.in_(MATCHMAKING_KINDS),
                                                        sessions.c.mode.in_(('offline', 'hybrid')))
                              .order_by(sessions.c.starts_at, sessions.c.id)).all()
    labels_of = {}
    for session in rows:
        taken = set()
        for other in rows:
            if other.id in labels_of and other.starts_at < session.ends_at and other.ends_at > session.starts_at \
                    and (other.venue or '').strip() == (session.venue or '').strip() \
                    and (other.room or '').strip() == (session.room or '').strip():
                taken |= labels_of[other.id]
        free = [n for n in range(1, (session.tables or 0) + 1) if f"第 {n:02d} 桌" not in taken]
        mine = set()
        institutions = connection.execute(sa.select(registrations.c.institution_id, registrations.c.tables)
                                          .where(registrations.c.session_id == session.id,
                                                 registrations.c.institution_id.is_not(None),
                                                 registrations.c.status == 'approved')
                                          .order_by(registrations.c.id)).all()
        for institution_id, count in institutions:
            for index in range(1, (count or 1) + 1):
                if not free:
                    break
                number = free.pop(0)
                label = f"第 {number:02d} 桌"
                connection.execute(venue_tables.insert().values(session_id=session.id, number=number, label=label,
                                                                institution_id=institution_id, table_index=index))
                mine.add(label)
        labels_of[session.id] = mine


def downgrade():
    with op.batch_alter_table('venue_tables', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_venue_tables_session_id'))
        batch_op.drop_index(batch_op.f('ix_venue_tables_institution_id'))
    op.drop_table('venue_tables')
    if op.get_bind().dialect.name != 'sqlite':  # SQLite drops the column's own CHECK with it
        op.drop_constraint(op.f('ck_event_sessions_table_digits_in_range'), 'event_sessions', type_='check')
    op.drop_column('event_sessions', 'table_digits')  # in place (SQLite 3.35+), never a table rebuild
    op.drop_column('event_sessions', 'table_area')
