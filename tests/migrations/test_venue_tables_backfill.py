"""Upgrading a database that already holds approved institutions gives them venue tables: distinct within a
session, never a label an overlapping session in the same room holds, none for online sessions."""
from flask_migrate import upgrade
from sqlalchemy import inspect, text

from chainmatch import create_app
from core.extensions import db
from tests.migrations.test_schema import empty_database_url  # noqa: F401 (fixture)

SESSION = ("INSERT INTO event_sessions (id, event_id, kind, mode, title, description, venue, room, online_url, "
           "starts_at, ends_at, slot_minutes, tables, speakers, stream_url, replay_url, attachments) VALUES "
           "(:id, 1, 'credit_matching', :mode, 'S', '', '博览中心', :room, '', :starts, :ends, 30, 3, '', '', '', '[]')")
REGISTRATION = ("INSERT INTO registrations (id, session_id, institution_id, status, decision_reason, tables, "
                "unavailable_slots, consent_text, created_at) VALUES "
                "(:id, :session, :institution, :status, '', :tables, '[]', '', '2027-01-01 00:00:00')")


def test_existing_approved_institutions_get_venue_tables(empty_database_url):  # noqa: F811
    from datetime import date, datetime

    from events.models import Event
    from market.models import Chain
    from seeds.loader import load_reference
    from tests.support import factories
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": empty_database_url})
    with app.app_context():
        upgrade(revision="b7c1e4a9d2f0")  # the revision before venue tables
        load_reference(db.session)
        office = factories.office("330100")
        banks = [factories.institution_user().institution_id for _ in range(4)]
        chain = db.session.query(Chain).filter_by(code="ai").one()
        event = Event(organiser_office_id=office.id, title="E", chain_id=chain.id, host_region_code="330100",
                      starts_on=date(2027, 3, 10), ends_on=date(2027, 3, 10), status="closed",
                      registration_opens_at=datetime(2027, 2, 1), registration_closes_at=datetime(2027, 3, 1))
        db.session.add(event)
        db.session.flush()
        for id_, mode, room, starts, ends in ((1, "offline", "A 厅", "2027-03-10 01:00:00", "2027-03-10 03:00:00"),
                                              (2, "hybrid", "A 厅", "2027-03-10 02:00:00", "2027-03-10 04:00:00"),
                                              (3, "online", "", "2027-03-10 01:00:00", "2027-03-10 03:00:00")):
            db.session.execute(text(SESSION.replace("(:id, 1,", "(:id, :event,")),
                               dict(id=id_, event=event.id, mode=mode, room=room, starts=starts, ends=ends))
        for id_, session, bank, status, tables in ((1, 1, 0, "approved", 2), (2, 1, 1, "pending", 1),
                                                   (3, 2, 2, "approved", 2), (4, 3, 3, "approved", 1)):
            db.session.execute(text(REGISTRATION), dict(id=id_, session=session, institution=banks[bank],
                                                        status=status, tables=tables))
        db.session.commit()
        db.session.remove()
        upgrade()
        with db.engine.connect() as connection:
            rows = connection.execute(text("SELECT session_id, number, label, institution_id, table_index "
                                           "FROM venue_tables ORDER BY session_id, number")).all()
        db.engine.dispose()
    assert [tuple(row) for row in rows] == [
        (1, 1, "第 01 桌", banks[0], 1), (1, 2, "第 02 桌", banks[0], 2),
        (2, 3, "第 03 桌", banks[2], 1)]  # the overlapping hybrid session: only 03 is left of the hall's three


def test_downgrade_and_upgrade_again_keep_the_sessions_and_registrations(empty_database_url):  # noqa: F811
    from flask_migrate import downgrade
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": empty_database_url})
    with app.app_context():
        upgrade()
        downgrade(revision="b7c1e4a9d2f0")
        with db.engine.connect() as connection:
            columns = {c["name"] for c in inspect(connection).get_columns("event_sessions")}
        assert "table_digits" not in columns and "table_area" not in columns
        upgrade()
        db.engine.dispose()
