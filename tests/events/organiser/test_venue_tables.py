"""Venue tables: every institution sits at tables of the hall, labelled for the place, never shared.

The bug this answers: each institution numbered its own tables, so a session's schedule export showed six
different meetings at "桌号 1" in slot 1 of one hall.
"""
import io
import threading
from collections import Counter

import pytest
from openpyxl import load_workbook
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from core.errors import FieldError
from core.extensions import db
from events.enums import EventStatus, RegistrationStatus
from events.models import EventSession, Meeting, Registration, VenueTable
from events.services import planning, registration, scheduling, venue_tables
from events.services.exports import schedule_workbook
from events.services.reports import ReportFilter
from market.models import Product
from tests.support import factories
from tests.support.database import database
from tests.support.events import actor, approve_institution, approve_sme, make_event, make_session, session_facts, utc

BANK_TABLES = (2, 1, 1, 2, 1, 1)  # six institutions, eight tables of their own


def _pending_institution(session, tables=1) -> Registration:
    user = factories.institution_user()
    product = factories.product(user, type="loan")
    entry = Registration(session_id=session.id, institution_id=user.institution_id, tables=tables,
                         status=RegistrationStatus.PENDING.value)
    entry.products = [db.session.get(Product, product.id)]
    db.session.add(entry)
    db.session.commit()
    return entry


def _export_rows(organiser, event_id) -> list[list]:
    download = schedule_workbook(actor(organiser), ReportFilter(event_id=event_id))
    sheet = load_workbook(io.BytesIO(download.content)).active
    return [[cell.value for cell in row] for row in sheet.iter_rows(min_row=3)][:-1]  # without the totals row


def _realistic_session(organiser, smes=12, **overrides):
    event = make_event(organiser, status=EventStatus.CLOSED)
    session = make_session(organiser, event, tables=10, table_area="洽谈区 A", **overrides)
    for tables in BANK_TABLES:
        bank = factories.institution_user()
        approve_institution(session, bank, [factories.product(bank, type="loan")], tables=tables)
    for _ in range(smes):
        user = factories.sme()
        approve_sme(session, user, [factories.need(user, type="loan")])
    return event, db.session.get(EventSession, session.id)


def test_the_schedule_export_never_puts_two_meetings_at_one_table_and_time(db_session):
    organiser = factories.organiser("330100")
    event, session = _realistic_session(organiser)
    summary = scheduling.run_matching(actor(organiser), session)
    assert summary.meetings >= 12
    rows = _export_rows(organiser, event.id)
    assert len(rows) == summary.meetings
    seats = Counter((row[0], row[1], row[2]) for row in rows)  # session, time, table
    assert max(seats.values()) == 1, [seat for seat, n in seats.items() if n > 1]
    assert all(row[2].startswith("洽谈区 A 第 ") and row[2].endswith(" 桌") for row in rows)
    first_slot = [row for row in rows if row[1] == rows[0][1]]
    assert len(first_slot) > 1 and len({row[2] for row in first_slot}) == len(first_slot)


def test_approval_allots_distinct_labelled_tables_and_rejection_gives_them_back(db_session):
    organiser = factories.organiser("330100")
    event = make_event(organiser, status=EventStatus.OPEN)
    session = make_session(organiser, event, tables=5, table_area="洽谈区 A")
    first, second = _pending_institution(session, tables=2), _pending_institution(session, tables=2)
    registration.approve_registration(actor(organiser), first)
    registration.approve_registration(actor(organiser), second)
    rows = db.session.scalars(select(VenueTable).order_by(VenueTable.number)).all()
    assert [(r.number, r.label, r.institution_id, r.table_index) for r in rows] == [
        (1, "洽谈区 A 第 01 桌", first.institution_id, 1), (2, "洽谈区 A 第 02 桌", first.institution_id, 2),
        (3, "洽谈区 A 第 03 桌", second.institution_id, 1), (4, "洽谈区 A 第 04 桌", second.institution_id, 2)]
    registration.reject_registration(actor(organiser), first, "产品不对口")
    assert {r.institution_id for r in db.session.scalars(select(VenueTable))} == {second.institution_id}
    third = _pending_institution(session, tables=3)
    registration.approve_registration(actor(organiser), third)  # takes the freed 01, 02 and then 05
    numbers = db.session.scalars(select(VenueTable.number).where(VenueTable.institution_id == third.institution_id)
                                 .order_by(VenueTable.table_index)).all()
    assert numbers == [1, 2, 5]
    registration.cancel_registration(actor(organiser), third, "机构临时无法参加")
    assert db.session.scalar(select(func.count(VenueTable.id))) == 2


def test_a_hall_with_too_few_tables_refuses_the_approval_naming_the_numbers(db_session):
    organiser = factories.organiser("330100")
    event = make_event(organiser, status=EventStatus.OPEN)
    session = make_session(organiser, event, tables=3)
    registration.approve_registration(actor(organiser), _pending_institution(session, tables=2))
    late = _pending_institution(session, tables=2)
    with pytest.raises(FieldError) as refused:
        registration.approve_registration(actor(organiser), late)
    message = str(refused.value.message)
    assert refused.value.field == "tables"
    assert "共 3 张桌" in message and "已分配 2 张" in message and "还需 2 张、只剩 1 张" in message


def test_the_database_refuses_a_second_row_for_one_table(db_session):
    organiser = factories.organiser("330100")
    event = make_event(organiser, status=EventStatus.OPEN)
    session = make_session(organiser, event, tables=3)
    registration.approve_registration(actor(organiser), _pending_institution(session))
    other = _pending_institution(session)
    for clash in ({"number": 1, "label": "第 09 桌"}, {"number": 2, "label": "第 01 桌"}):
        with pytest.raises(IntegrityError), db.session.begin_nested():
            db.session.add(VenueTable(session_id=session.id, institution_id=other.institution_id, table_index=1,
                                      **clash))
            db.session.flush()


def test_overlapping_sessions_in_one_room_never_share_a_label(db_session):
    organiser = factories.organiser("330100")
    event = make_event(organiser, status=EventStatus.OPEN)
    morning = make_session(organiser, event, tables=4, table_area="洽谈区 A")
    overlapping = make_session(organiser, event, tables=4, table_area="洽谈区 A", title="保险服务对接会",
                               starts_at=utc(2027, 3, 10, 10), ends_at=utc(2027, 3, 10, 12))
    elsewhere = make_session(organiser, event, tables=4, table_area="洽谈区 A", room="C2 会议室",
                             starts_at=utc(2027, 3, 10, 10), ends_at=utc(2027, 3, 10, 12))
    later = make_session(organiser, event, tables=4, table_area="洽谈区 A",
                         starts_at=utc(2027, 3, 10, 14), ends_at=utc(2027, 3, 10, 16))
    for session in (morning, overlapping, elsewhere, later):
        registration.approve_registration(actor(organiser), _pending_institution(session, tables=2))
    labels = {s: set(db.session.scalars(select(VenueTable.label).where(VenueTable.session_id == s.id)))
              for s in (morning, overlapping, elsewhere, later)}
    assert labels[morning] == {"洽谈区 A 第 01 桌", "洽谈区 A 第 02 桌"}
    assert labels[overlapping] == {"洽谈区 A 第 03 桌", "洽谈区 A 第 04 桌"}  # the same hall at the same time
    assert labels[elsewhere] == labels[later] == labels[morning]  # another room, or later the same day
    with pytest.raises(FieldError) as refused:  # the hall is now full at 10:00–11:00
        registration.approve_registration(actor(organiser), _pending_institution(overlapping))
    assert "同场地时间重叠的场次占用 2 张" in str(refused.value.message)


def test_editing_the_session_relabels_and_refuses_what_the_allotment_rules_out(db_session):
    organiser = factories.organiser("330100")
    event = make_event(organiser, status=EventStatus.OPEN)
    session = make_session(organiser, event, tables=4)
    registration.approve_registration(actor(organiser), _pending_institution(session, tables=3))
    planning.update_session(actor(organiser), session, session_facts(tables=4, table_area="B 区", table_digits=3))
    db.session.commit()
    assert sorted(db.session.scalars(select(VenueTable.label))) == ["B 区 第 001 桌", "B 区 第 002 桌",
                                                                     "B 区 第 003 桌"]
    with pytest.raises(FieldError) as refused:
        planning.update_session(actor(organiser), session, session_facts(tables=2, table_area="B 区"))
    assert refused.value.field == "tables" and "B 区 第 03 桌" in str(refused.value.message)
    db.session.rollback()
    neighbour = make_session(organiser, event, tables=4, table_area="C 区", starts_at=utc(2027, 3, 10, 10),
                             ends_at=utc(2027, 3, 10, 12))
    registration.approve_registration(actor(organiser), _pending_institution(neighbour, tables=1))
    db.session.commit()
    session = db.session.get(EventSession, session.id)
    with pytest.raises(FieldError) as clash:  # renaming onto the neighbour's area would give two "C 区 第 01 桌"
        planning.update_session(actor(organiser), session, session_facts(tables=4, table_area="C 区", table_digits=2))
    assert clash.value.field == "table_area" and "C 区 第 01 桌" in str(clash.value.message)
    db.session.rollback()
    session = db.session.get(EventSession, session.id)
    planning.update_session(actor(organiser), session, session_facts(tables=4, mode="online", venue="",
                                                                     online_url="https://meet.example.com/r/1"))
    assert db.session.scalar(select(func.count(VenueTable.id)).where(VenueTable.session_id == session.id)) == 0


def test_online_meetings_have_no_venue_table(db_session):
    organiser = factories.organiser("330100")
    event, session = _realistic_session(organiser, smes=3, mode="online", venue="",
                                        online_url="https://meet.example.com/r/7")
    assert db.session.scalar(select(func.count(VenueTable.id))) == 0
    scheduling.run_matching(actor(organiser), session)
    meeting = db.session.scalars(select(Meeting)).first()
    assert venue_tables.meeting_table_label(meeting) == ""
    assert all(row[2].startswith("线上会议室") for row in _export_rows(organiser, event.id))


def test_matching_allots_tables_to_institutions_approved_before_venue_tables_existed(db_session):
    organiser = factories.organiser("330100")
    event, session = _realistic_session(organiser, smes=4)
    db.session.execute(delete(VenueTable))  # as in a database from before this change, had the migration not run
    db.session.commit()
    scheduling.run_matching(actor(organiser), db.session.get(EventSession, session.id))
    assert db.session.scalar(select(func.count(VenueTable.id))) == sum(BANK_TABLES)
    session = db.session.get(EventSession, session.id)
    session.tables = 7  # fewer than the eight the institutions staff
    db.session.execute(delete(VenueTable))
    with pytest.raises(FieldError) as refused:
        scheduling.run_matching(actor(organiser), session)
    assert "共 7 张桌" in str(refused.value.message) and "还需 8 张、只剩 7 张" in str(refused.value.message)


def test_too_few_tables_is_a_message_on_the_registrations_page_not_a_500(client, app):
    from tests.conftest import sign_in
    with database(app):
        organiser = factories.organiser("330100")
        event = make_event(organiser, status=EventStatus.OPEN)
        session = make_session(organiser, event, tables=1)
        _pending_institution(session)
        registration.approve_registration(actor(organiser), db.session.scalars(select(Registration)).one())
        db.session.commit()
        late = _pending_institution(session)
    sign_in(client, organiser.email)
    response = client.post(f"/organiser/registrations/{late.id}/decision", data={"decision": "approve"},
                           follow_redirects=True)
    assert response.status_code == 200
    assert "洽谈桌不够：场地共 1 张桌" in response.get_data(as_text=True)
    with database(app) as check:
        assert check.get(Registration, late.id).status == RegistrationStatus.PENDING


@pytest.mark.slow
def test_concurrent_approvals_in_overlapping_sessions_get_different_labels(app):
    """Eight institutions approved at once, four each in two sessions that share a room at the same time,
    each approval on its own connection: every label is used once across the two sessions."""
    with database(app):
        organiser = factories.organiser("330100")
        event = make_event(organiser, status=EventStatus.OPEN)
        first = make_session(organiser, event, tables=8, table_area="洽谈区 A")
        second = make_session(organiser, event, tables=8, table_area="洽谈区 A", title="保险服务对接会",
                              starts_at=utc(2027, 3, 10, 10), ends_at=utc(2027, 3, 10, 12))
        pending = [_pending_institution(session).id for session in (first, second) for _ in range(4)]
    barrier = threading.Barrier(len(pending))
    failures: list[BaseException] = []

    def approve(registration_id: int) -> None:
        with app.app_context():
            try:
                barrier.wait(timeout=60)
                entry = db.session.get(Registration, registration_id)
                registration.approve_registration(actor(organiser), entry)
                db.session.commit()
            except BaseException as error:  # noqa: BLE001 - reported below
                db.session.rollback()
                failures.append(error)

    threads = [threading.Thread(target=approve, args=(registration_id,)) for registration_id in pending]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failures == []
    with database(app) as check:
        labels = check.scalars(select(VenueTable.label)).all()
        assert len(labels) == 8 and len(set(labels)) == 8, sorted(labels)
        assert check.scalar(select(func.count(Registration.id)).where(
            Registration.status == RegistrationStatus.APPROVED.value)) == 8


def test_the_demo_schedule_export_has_no_two_meetings_at_one_table_and_time(app, monkeypatch):
    from events.demo import load_demo
    from seeds.loader import load_all
    monkeypatch.setitem(app.config, "DEMO_MODE", True)
    with app.test_request_context():
        load_all(db.session, demo_accounts=True)
        load_demo(db.session)
        db.session.commit()
        sessions = db.session.scalars(select(EventSession).where(EventSession.mode == "offline",
                                                                 EventSession.tables > 0)).all()
        assert sessions and all(s.table_area for s in sessions)
        event_id = sessions[0].event_id
        organiser = factories.organiser("330100")
        rows = _export_rows(organiser, event_id)
        offline = [row for row in rows if not str(row[2]).startswith("线上会议室")]
        assert len(offline) >= 20
        seats = Counter((row[0], row[1], row[2]) for row in offline)
        assert max(seats.values()) == 1, [seat for seat, n in seats.items() if n > 1]
        assert {row[2].split(" 第 ")[0] for row in offline} <= {"洽谈区 A", "洽谈区 B"}
        assert not [row for row in offline if row[2] == "桌号待分配"]


def _statements_for(app, client, url: str) -> int:
    from sqlalchemy import event as sa_event
    with app.app_context():
        engine = db.engine
    seen = []

    def count(*_args):
        seen.append(1)
    sa_event.listen(engine, "before_cursor_execute", count)
    try:
        assert client.get(url).status_code == 200
    finally:
        sa_event.remove(engine, "before_cursor_execute", count)
    return len(seen)


def test_the_table_plan_runs_the_same_number_of_queries_for_two_or_six_institutions(app, client):
    from tests.conftest import sign_in
    counts = []
    for smes, banks in ((2, 2), (12, 6)):
        with database(app):
            organiser = factories.organiser("330100")
            event = make_event(organiser, status=EventStatus.CLOSED)
            session = make_session(organiser, event, tables=10, table_area="洽谈区 A")
            for _ in range(banks):
                bank = factories.institution_user()
                approve_institution(session, bank, [factories.product(bank, type="loan")], tables=1)
            for _ in range(smes):
                user = factories.sme()
                approve_sme(session, user, [factories.need(user, type="loan")])
            scheduling.run_matching(actor(organiser), db.session.get(EventSession, session.id))
            db.session.commit()
            session_id = session.id
        sign_in(client, organiser.email)
        counts.append(_statements_for(app, client, f"/organiser/sessions/{session_id}/table-plan"))
        client.post("/account/sign-out")
    assert counts[0] == counts[1] and counts[0] > 3, counts


def test_the_institution_sees_its_venue_tables_on_its_registrations(app, client):
    from tests.conftest import sign_in
    with database(app):
        organiser = factories.organiser("330100")
        event = make_event(organiser, status=EventStatus.OPEN)
        session = make_session(organiser, event, tables=6, table_area="洽谈区 B")
        registration.approve_registration(actor(organiser), _pending_institution(session, tables=1))
        bank = factories.institution_user()
        entry = Registration(session_id=session.id, institution_id=bank.institution_id, tables=2,
                             status=RegistrationStatus.PENDING.value)
        entry.products = [db.session.get(Product, factories.product(bank, type="loan").id)]
        db.session.add(entry)
        db.session.flush()
        registration.approve_registration(actor(organiser), entry)
        db.session.commit()
    sign_in(client, bank.email)
    page = client.get("/events/registrations").get_data(as_text=True)
    assert "场地洽谈桌：洽谈区 B 第 02 桌、洽谈区 B 第 03 桌" in page
