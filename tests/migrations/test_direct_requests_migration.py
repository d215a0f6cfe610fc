"""Upgrading a database that holds two open direct requests of one pair (PostgreSQL let them in: event_id is NULL
in the old unique index) keeps one — an accepted one first, else the oldest — and withdraws the others."""
from datetime import datetime

from flask_migrate import upgrade
from sqlalchemy import text

from chainmatch import create_app
from core.extensions import db
from tests.migrations.test_schema import empty_database_url  # noqa: F401 (fixture)


def test_later_open_direct_twins_are_withdrawn_and_the_index_then_holds(empty_database_url):  # noqa: F811
    from events.models import MeetingRequest
    from seeds.loader import load_reference
    from tests.support import factories
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": empty_database_url})
    with app.app_context():
        upgrade(revision="7c4e2a91d5b3")  # the revision before the direct-pair index
        load_reference(db.session)
        sme = factories.sme()
        banks = [factories.institution_user().institution_id for _ in range(2)]
        when = datetime(2027, 1, 4, 2)
        for id_, bank, status in ((1, 0, "requested"), (2, 0, "requested"), (3, 0, "accepted"),
                                  (4, 1, "requested"), (5, 1, "requested"), (6, 1, "declined")):
            db.session.add(MeetingRequest(id=id_, event_id=None, enterprise_id=sme.enterprise_id,
                                          institution_id=banks[bank], direction="from_enterprise", status=status,
                                          respond_by=when, created_at=when))
        db.session.commit()
        db.session.remove()
        upgrade()
        with db.engine.connect() as connection:
            statuses = dict(connection.execute(text("SELECT id, status FROM meeting_requests")).all())
        db.engine.dispose()
    assert statuses == {1: "withdrawn", 2: "withdrawn", 3: "accepted",  # the accepted one is kept
                        4: "requested", 5: "withdrawn", 6: "declined"}  # else the oldest; closed ones untouched
