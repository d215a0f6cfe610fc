"""Everything that writes a session's meetings, at once, in real threads: the organiser re-running matching three
times and publishing, twenty SMEs booking, a move, a cancellation, an accepted request, a bank's approval and a
withdrawn registration, while a second session in the same hall is matched and booked; and the scheduler matching
two sessions in one transaction while the organiser adds meetings. Every path takes availability.lock_parties' one
lock order, so on PostgreSQL no two of them wait on each other (no DeadlockDetected, no IntegrityError): each
either does its work or gets a clean FieldError.

Runs on both databases; on SQLite BEGIN IMMEDIATE serialises the writers, on PostgreSQL they really run at once.
Each thread has its own app context, hence its own database session and connection, and starts behind a barrier.
"""
import threading
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import select

from accounts.models import User
from core.clock import utcnow
from core.errors import FieldError
from core.extensions import db
from events.enums import EventStatus, MeetingSource, MeetingStatus, RegistrationStatus
from events.models import EventSession, Meeting, MeetingRequest, Registration, VenueTable
from events.services import agenda, availability, publication, registration, requests, schedule_edits, scheduling
from market.models import Institution
from tests.support import factories
from tests.support.database import database
from tests.support.participation import make_event, make_meeting, make_session, registered_bank, registered_sme

SMES = 20
BANKS = 4
SLOTS = 8
NEIGHBOURS = 6  # SMEs of the session sharing the hall


def _world(app) -> dict:
    """A published session: 4 banks with 2 tables, 20 approved SMEs, two scheduled bookings, one open request, a
    bank waiting for approval; and a second published session at the same time in the same hall (area B)."""
    with database(app):
        event = make_event(status=EventStatus.PUBLISHED)
        session = make_session(event, published=True, slots=SLOTS)
        neighbour = make_session(event, published=True, slots=SLOTS, title="同场地的另一场")
        neighbour.table_area = "B 区"
        db.session.commit()
        organiser = factories.organiser()
        banks = [registered_bank(session, tables=2)[0] for _ in range(BANKS)]
        smes = [registered_sme(session)[0] for _ in range(SMES)]
        waiting = registered_bank(session, status=RegistrationStatus.PENDING)[2]
        neighbour_banks = [registered_bank(neighbour)[0] for _ in range(2)]
        neighbour_smes = [registered_sme(neighbour)[0] for _ in range(NEIGHBOURS)]
        moved = make_meeting(session, smes[0], banks[0], slot=0, table=2, source=MeetingSource.BOOKING)
        cancelled = make_meeting(session, smes[1], banks[1], slot=0, table=2, source=MeetingSource.BOOKING)
        asked = requests.request_meeting(db.session.get(User, smes[2].id), session.event,
                                         db.session.get(Institution, banks[2].institution_id), consent_text="同意",
                                         consented=True)
        withdrawn = db.session.scalar(select(Registration).where(Registration.session_id == session.id,
                                                                 Registration.enterprise_id == smes[3].enterprise_id))
        db.session.commit()
        return {"session": session.id, "organiser": organiser.id, "banks": [(b.id, b.institution_id) for b in banks],
                "smes": [s.id for s in smes], "moved": moved.id, "cancelled": cancelled.id, "request": asked.id,
                "withdrawn": withdrawn.id, "waiting": waiting.id, "neighbour": neighbour.id,
                "neighbour_banks": [b.institution_id for b in neighbour_banks],
                "neighbour_smes": [s.id for s in neighbour_smes]}


def _actions(world: dict) -> list[tuple[str, object]]:
    """(name, callable in an app context) for every writer that runs at once."""
    session = lambda: db.session.get(EventSession, world["session"])  # noqa: E731
    user = lambda user_id: db.session.get(User, user_id)  # noqa: E731
    actions = [(f"match {n}", lambda: scheduling.run_matching(user(world["organiser"]), session()))
               for n in range(3)]
    actions.append(("publish", lambda: publication.publish_schedule(user(world["organiser"]), session())))
    for index, sme_id in enumerate(world["smes"]):
        bank_user_id, institution_id = world["banks"][index % BANKS]
        slot = 1 + (index // 8)  # two or three SMEs want each (bank, slot, table 1)

        def book(sme_id=sme_id, institution_id=institution_id, slot=slot):
            return agenda.book_slot(user(sme_id), session(), db.session.get(Institution, institution_id), slot, 1)
        actions.append((f"book {index}", book))
    neighbour = lambda: db.session.get(EventSession, world["neighbour"])  # noqa: E731
    actions.append(("match next door", lambda: scheduling.run_matching(user(world["organiser"]), neighbour())))
    for index, sme_id in enumerate(world["neighbour_smes"]):
        def book_next_door(sme_id=sme_id, institution_id=world["neighbour_banks"][index % 2], slot=1 + index // 2):
            return agenda.book_slot(user(sme_id), neighbour(), db.session.get(Institution, institution_id), slot, 1)
        actions.append((f"book next door {index}", book_next_door))
    actions.append(("approve", lambda: registration.approve_registration(
        user(world["organiser"]), db.session.get(Registration, world["waiting"]))))
    actions.append(("move", lambda: schedule_edits.move_meeting(
        user(world["organiser"]), db.session.get(Meeting, world["moved"]), SLOTS - 1, 2)))
    actions.append(("cancel", lambda: agenda.cancel_meeting(
        user(world["smes"][1]), db.session.get(Meeting, world["cancelled"]), "临时有事")))
    actions.append(("accept", lambda: requests.accept_request(
        user(world["banks"][2][0]), db.session.get(MeetingRequest, world["request"]))))
    actions.append(("withdraw", lambda: registration.cancel_registration(
        user(world["smes"][3]), db.session.get(Registration, world["withdrawn"]), "改期")))
    return actions


@dataclass(frozen=True)
class Done:
    """A committed action: the id and kind of what it returned."""

    id: int | None
    kind: str


def _run_at_once(app, actions) -> dict[str, object]:
    """Run each action in its own thread and app context, committing on success; name → Done or the exception."""
    barrier = threading.Barrier(len(actions))
    outcomes: dict[str, object] = {}

    def run(name, action):
        barrier.wait(timeout=60)
        with app.app_context():
            try:
                result = action()
                done = Done(getattr(result, "id", None), type(result).__name__)
                db.session.commit()
                outcomes[name] = done
            except Exception as error:  # every kind is recorded; the test tells refusals from errors
                db.session.rollback()
                outcomes[name] = error
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=action, name=action[0]) for action in actions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not [thread.name for thread in threads if thread.is_alive()], "some writers never finished"
    return outcomes


def test_matching_publishing_and_twenty_bookers_at_once_give_clean_refusals_and_no_double_booking(app):
    world = _world(app)
    outcomes = _run_at_once(app, _actions(world))

    assert sorted(outcomes) == sorted(name for name, _ in _actions(world))
    unexpected = {name: f"{type(result).__name__}: {result}" for name, result in outcomes.items()
                  if isinstance(result, BaseException) and not isinstance(result, FieldError)}
    assert unexpected == {}
    refusals = [result for result in outcomes.values() if isinstance(result, FieldError)]
    assert all(str(refusal.message).strip() for refusal in refusals)
    assert refusals, "two or three SMEs wanted each cell, so some booker must have been refused"

    with database(app) as db_session:
        for session_id in (world["session"], world["neighbour"]):
            live = db_session.scalars(select(Meeting).where(Meeting.session_id == session_id,
                                                            Meeting.status != MeetingStatus.CANCELLED)).all()
            placed = [m for m in live if m.slot is not None]
            assert placed
            assert max(Counter((m.enterprise_id, m.slot) for m in placed).values()) == 1
            assert max(Counter((m.institution_id, m.table_number, m.slot) for m in placed).values()) == 1
            assert max(Counter((m.enterprise_id, m.institution_id) for m in live).values()) == 1
        labels = db_session.scalars(select(VenueTable.label).where(
            VenueTable.session_id.in_([world["session"], world["neighbour"]]))).all()
        assert len(labels) == len(set(labels)), "two sessions sharing the hall gave out the same table"
        live = db_session.scalars(select(Meeting).where(Meeting.session_id == world["session"],
                                                        Meeting.status != MeetingStatus.CANCELLED)).all()
        for index, (_name, result) in enumerate((f"book {i}", outcomes[f"book {i}"]) for i in range(SMES)):
            if isinstance(result, Done):  # the booked place (or the pair's meeting already there, which it answers)
                booked = db_session.get(Meeting, result.id)
                assert (booked.enterprise_id, booked.institution_id, booked.slot, booked.table_number) == (
                    db_session.get(User, world["smes"][index]).enterprise_id, world["banks"][index % BANKS][1],
                    1 + index // 8, 1)
                # SME 3 withdraws its registration meanwhile: a booking it made before is cancelled with it
                assert booked.status == MeetingStatus.CANCELLED if index == 3 else booked.status in (
                    MeetingStatus.PROPOSED, MeetingStatus.SCHEDULED)
        assert db_session.get(Meeting, world["cancelled"]).status == MeetingStatus.CANCELLED
        moved = db_session.get(Meeting, world["moved"])
        assert (moved.slot, moved.table_number) == ((SLOTS - 1, 2) if isinstance(outcomes["move"], Done)
                                                    else (0, 2))
        assert db_session.get(Registration, world["withdrawn"]).status == RegistrationStatus.CANCELLED
        assert not [m for m in live if m.enterprise_id == db_session.get(User, world["smes"][3]).enterprise_id]


def test_the_scheduler_matching_two_sessions_while_the_organiser_adds_meetings_to_the_second_never_deadlocks(app):
    """run_due_matching matches every due session in one transaction: it must lock them all before any party,
    or it holds the first session's SMEs while an organiser's add in the second session holds that session
    and waits for one of them."""
    with database(app):
        event = make_event(status=EventStatus.CLOSED, opens_in_days=-10, closes_in_days=-1)
        event.matching_at = utcnow() - timedelta(hours=1)
        first, second = (make_session(event, slots=SLOTS, title=title) for title in ("第一场", "第二场"))
        second.room = "C2 洽谈区"  # another hall: only the parties link the two sessions
        db.session.commit()
        organiser = factories.organiser()
        banks = {s.id: [registered_bank(s, tables=2)[0] for _ in range(2)] for s in (first, second)}
        both = []
        for _ in range(SMES // 2):
            user = registered_sme(first)[0]
            registered_sme(second, user=user)
            both.append(user.id)
        world = {"first": first.id, "second": second.id, "organiser": organiser.id, "smes": both,
                 "banks": [b.institution_id for b in banks[second.id]]}

    def add(index):
        def run():
            return schedule_edits.add_meeting(
                db.session.get(User, world["organiser"]), db.session.get(EventSession, world["second"]),
                db.session.get(User, world["smes"][index]).enterprise_id, world["banks"][index % 2], index // 2, 1)
        return run

    actions = [("scheduler", lambda: scheduling.run_due_matching(utcnow()))]
    actions += [(f"add {index}", add(index)) for index in range(len(world["smes"]))]
    outcomes = _run_at_once(app, actions)

    unexpected = {name: f"{type(result).__name__}: {result}" for name, result in outcomes.items()
                  if isinstance(result, BaseException) and not isinstance(result, FieldError)}
    assert unexpected == {}
    assert isinstance(outcomes["scheduler"], Done)
    with database(app) as db_session:
        assert db_session.get(EventSession, world["first"]).matched_at is not None
        assert db_session.get(EventSession, world["second"]).matched_at is not None
        for session_id in (world["first"], world["second"]):
            live = db_session.scalars(select(Meeting).where(Meeting.session_id == session_id,
                                                            Meeting.status != MeetingStatus.CANCELLED)).all()
            assert live
            assert max(Counter((m.enterprise_id, m.slot) for m in live).values()) == 1
            assert max(Counter((m.institution_id, m.table_number, m.slot) for m in live).values()) == 1


def test_a_transaction_that_asks_out_of_order_takes_the_rows_without_waiting_and_forgets_them_at_commit(app):
    with database(app):
        event = make_event()
        first, second = make_session(event, title="甲"), make_session(event, title="乙")
        second.room = "C2 洽谈区"
        sme = factories.sme()
        db.session.commit()
        availability.lock_parties([second.id], [sme.enterprise_id])
        availability.lock_parties([first.id])  # a session after a party, and a lower id: NOWAIT, uncontended
        assert availability.held_locks() == {"session": {first.id, second.id}, "enterprise": {sme.enterprise_id},
                                             "institution": set()}
        db.session.commit()
        assert availability.held_locks() == {"session": set(), "enterprise": set(), "institution": set()}


def test_a_lock_out_of_order_that_another_writer_holds_is_a_refusal_not_a_wait(app):
    with database(app) as db_session:
        if db_session.get_bind().dialect.name != "postgresql":
            pytest.skip("SQLite has no row locks: BEGIN IMMEDIATE serialises whole write transactions")
        event = make_event()
        first, second = make_session(event, title="甲"), make_session(event, title="乙")
        second.room = "C2 洽谈区"
        sme = factories.sme()
        db.session.commit()
        ids = (first.id, second.id, sme.enterprise_id)
    holding, release = threading.Event(), threading.Event()

    def other_writer():
        with app.app_context():
            availability.lock_parties([ids[0]])
            holding.set()
            release.wait(timeout=60)
            db.session.rollback()
            db.session.remove()

    thread = threading.Thread(target=other_writer)
    thread.start()
    try:
        assert holding.wait(timeout=60)
        with app.app_context():
            availability.lock_parties([ids[1]], [ids[2]])
            with pytest.raises(FieldError) as refused:
                availability.lock_parties([ids[0]])
            assert "正被其他操作修改" in str(refused.value.message)
            db.session.rollback()
            db.session.remove()
    finally:
        release.set()
        thread.join(timeout=60)
    assert not thread.is_alive()
