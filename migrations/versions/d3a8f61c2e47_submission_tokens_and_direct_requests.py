"""One-time submission tokens of the create forms; one open direct request per pair.

`submission_tokens` holds each create form's token once posted, inserted in the create's own transaction, so a
second post of the same form meets the unique key and is sent where the first went.

`uq_meeting_requests_open_pair` includes event_id, and NULLs never collide in a unique index, so PostgreSQL
let two open direct requests (no event) of one pair exist. The new partial index covers event_id IS NULL.
A database that already holds such twins keeps the oldest open one of each pair (an accepted one before a
requested one, then the lowest id) and marks the later ones withdrawn, the status of a request its sender
took back — deterministic, and nothing is deleted.

Revision ID: d3a8f61c2e47
Revises: 7c4e2a91d5b3
Create Date: 2026-12-02 14:50:00
"""
import sqlalchemy as sa
from alembic import op

revision = 'd3a8f61c2e47'
down_revision = '7c4e2a91d5b3'
branch_labels = None
depends_on = None

OPEN_DIRECT = "event_id IS NULL AND status IN ('requested', 'accepted')"


def upgrade():
    op.create_table(
        "submission_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.Column("form_name", sa.String(length=60), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("result_url", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_submission_tokens_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_submission_tokens")),
        sa.UniqueConstraint("token", name=op.f("uq_submission_tokens_token")),
    )
    op.create_index(op.f("ix_submission_tokens_created_at"), "submission_tokens", ["created_at"], unique=False)

    _withdraw_later_open_direct_twins()
    op.create_index("uq_meeting_requests_open_direct_pair", "meeting_requests", ["enterprise_id", "institution_id"],
                    unique=True, sqlite_where=sa.text(OPEN_DIRECT), postgresql_where=sa.text(OPEN_DIRECT))


def _withdraw_later_open_direct_twins() -> None:
    """Of each pair's open direct requests keep one (accepted first, then the oldest); withdraw the others."""
    requests = sa.table("meeting_requests", sa.column("id", sa.Integer), sa.column("event_id", sa.Integer),
                        sa.column("enterprise_id", sa.Integer), sa.column("institution_id", sa.Integer),
                        sa.column("status", sa.String))
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(requests.c.id, requests.c.enterprise_id, requests.c.institution_id)
        .where(requests.c.event_id.is_(None), requests.c.status.in_(("requested", "accepted")))
        .order_by(requests.c.enterprise_id, requests.c.institution_id,
                  sa.case((requests.c.status == "accepted", 0), else_=1), requests.c.id)).all()
    kept: set[tuple[int, int]] = set()
    later = []
    for row in rows:
        pair = (row.enterprise_id, row.institution_id)
        if pair in kept:
            later.append(row.id)
        else:
            kept.add(pair)
    for start in range(0, len(later), 500):
        connection.execute(requests.update().where(requests.c.id.in_(later[start:start + 500]))
                           .values(status="withdrawn"))


def downgrade():
    op.drop_index("uq_meeting_requests_open_direct_pair", table_name="meeting_requests",
                  sqlite_where=sa.text(OPEN_DIRECT), postgresql_where=sa.text(OPEN_DIRECT))
    op.drop_index(op.f("ix_submission_tokens_created_at"), table_name="submission_tokens")
    op.drop_table("submission_tokens")
