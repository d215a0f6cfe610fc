"""Migration 7c4e2a91d5b3 moves the existing outcome rows into their financing type's steps."""
import re

from flask_migrate import upgrade
from sqlalchemy import text

from chainmatch import create_app
from core.extensions import db
from tests.migrations.test_schema import empty_database_url  # noqa: F401 (fixture)

NOW = "2025-03-10 10:00:00"


class RawRows:
    """A driver connection with foreign keys off: only the rows under test are inserted, not their parents."""

    def __init__(self, engine):
        self.sqlite = engine.dialect.name == "sqlite"
        self.connection = engine.raw_connection()
        self.cursor = self.connection.cursor()
        self.cursor.execute("PRAGMA foreign_keys=OFF" if self.sqlite else "SET session_replication_role = replica")

    def execute(self, statement, params=None) -> None:
        sql = statement.text
        if not self.sqlite:  # psycopg's named style
            sql = re.sub(r":(\w+)", r"%(\1)s", sql)
        self.cursor.execute(sql, params or {})

    def commit(self) -> None:
        self.connection.commit()
        self.connection.close()


def test_existing_outcomes_take_their_meetings_type_and_keep_the_checks(empty_database_url):  # noqa: F811
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": empty_database_url})
    with app.app_context():
        upgrade(revision="556393cc421e")
        connection = RawRows(db.engine)
        for need_id, kind in ((1, "insurance"), (2, "loan")):
            connection.execute(text(
                "INSERT INTO financing_needs (id, enterprise_id, type, amount_yuan, purpose, status, "
                "withdrawn_reason, created_at, updated_at) VALUES (:id, 1, :type, 1000, '', 'met', '', :now, :now)"),
                {"id": need_id, "type": kind, "now": NOW})
        connection.execute(text(
            "INSERT INTO products (id, institution_id, name, type, description, amount_min_yuan, amount_max_yuan, "
            "is_exclusive, response_working_days, status, created_at, updated_at) VALUES "
            "(1, 1, '成长基金', 'equity', '', 1, 10, :exclusive, 5, 'active', :now, :now)"),
            {"now": NOW, "exclusive": False})
        for meeting_id, need_id, product_id in ((1, 1, None), (2, 2, None), (3, None, 1), (4, None, None)):
            connection.execute(text(
                "INSERT INTO meetings (id, session_id, enterprise_id, institution_id, need_id, product_id, status, "
                "source, reasons, cancel_reason, created_at, updated_at) VALUES "
                "(:id, 1, :id, 1, :need, :product, 'held', 'matcher', '[]', '', :now, :now)"),
                {"id": meeting_id, "need": need_id, "product": product_id, "now": NOW})
        rows = [(1, 1, "institution", None, None, 300), (2, 2, "institution", None, 100, 900),
                (3, 2, "enterprise", None, 50, None), (4, 3, "institution", 500, 200, 100),
                (5, 4, "enterprise", 7, None, None)]
        for outcome_id, meeting_id, side, intent, credit, disbursed in rows:
            connection.execute(text(
                "INSERT INTO outcomes (id, meeting_id, side, held, intent_amount_yuan, credit_granted_yuan, "
                "disbursed_yuan, note, recorded_at) VALUES (:id, :meeting, :side, :held, :intent, :credit, "
                ":disbursed, '', :now)"),
                {"id": outcome_id, "meeting": meeting_id, "side": side, "held": True, "intent": intent, "credit": credit,
                 "disbursed": disbursed, "now": NOW})
        connection.commit()
        upgrade()
        with db.engine.connect() as connection:
            moved = connection.execute(text(
                "SELECT id, financing_type, intent_amount_yuan, agreed_amount_yuan, funded_amount_yuan, premium_yuan, "
                "verdict, dispute_reason FROM outcomes ORDER BY id")).all()
        db.engine.dispose()
    assert [tuple(row) for row in moved] == [
        (1, "insurance", None, 300, None, None, None, ""),  # insurance has no 放款: the figure is the policy's
        (2, "loan", None, 900, 900, None, None, ""),        # 放款 above 授信: the credit line was at least that
        (3, "loan", None, 50, None, None, None, ""),        # the SME's own view, unconfirmed
        (4, "equity", 500, 200, 100, None, None, ""),       # the product's type when the meeting has no need
        (5, "loan", 7, None, None, None, None, ""),         # neither: loan
    ]
