"""Typed enum columns: the models declare enum columns with `core.enums.enum_column`, which writes their CHECKs.

The schema does not change: each column keeps its VARCHAR length, and the CHECK the type writes has the name
and the definition of the hand-written one it replaces (`ck_<table>_<name>`, `<column> IN (<values>)`), so no
data moves and no constraint is rebuilt. This revision records that the models and the database agree after it;
tests/migrations/test_schema.py checks that they do, on SQLite and PostgreSQL.

Revision ID: e5b2c7d9a314
Revises: d3f8a61c0e27
Create Date: 2026-12-03 08:00:00
"""


revision = 'e5b2c7d9a314'
down_revision = 'd3f8a61c0e27'
branch_labels = None
depends_on = None


def upgrade():
    """Nothing to do: the constraints and column types are already what the models write."""


def downgrade():
    """Nothing to undo."""
