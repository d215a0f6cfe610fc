"""A whole month, draft → reported, moved by the scheduler's sweeps alone at controlled times.

People act where people act (the organiser adds sessions and approves publication, SMEs and banks sign
up, the organiser approves them, one SME records an outcome); every status change and every message
comes from `run_due_work` / `deliver_outbox` called at successive frozen times.
"""
from collections import Counter
from datetime import timedelta

import pytest
import time_machine

from chainmatch.scheduler import deliver_outbox, run_due_work
from notifications import delivery
from tests.scheduler import scenario as s
from tests.scheduler.scenario import local


@pytest.fixture(autouse=True)
def _empty_memory_outbox():
    delivery.SENT_IN_MEMORY.clear()
    yield
    delivery.SENT_IN_MEMORY.clear()


class Clock:
    """Frozen time, moved forward only; each `sweep` runs both scheduler jobs at the current time."""

    def __init__(self, app, traveller):
        self.app, self.traveller, self.now = app, traveller, None

    def at(self, moment):
        assert self.now is None or moment >= self.now, "time only moves forward"
        self.now = moment
        self.traveller.move_to(s.aware(moment))
        return self

    def sweep(self):
        results = run_due_work(self.app)
        assert None not in results.values(), f"a job failed at {self.now}: {results}"
        report = deliver_outbox(self.app)
        assert report is not None
        return results

    def sweep_every(self, start, end, step):
        moment = start
        while moment <= end:
            self.at(moment).sweep()
            moment += step


def test_a_month_runs_itself(app):
    people = s.make_people(app)
    april = s.add_plan_entry(app, people, 2026, 4)
    may = s.add_plan_entry(app, people, 2026, 5)
    organiser = people.organiser
    kinds = Counter()

    with time_machine.travel(s.aware(local(2026, 3, 1, 10)), tick=False) as traveller:
        clock = Clock(app, traveller).at(local(2026, 3, 1, 10))

        # 1 March: next month's draft appears from the year plan (May's waits for April).
        clock.sweep()
        event_id = s.event_of_plan(app, april)
        assert event_id is not None and s.event_of_plan(app, may) is None
        assert s.status(app, event_id) == "draft"
        assert s.messages(app, "draft_event_created") == [(organiser, "event", event_id)]
        kinds["draft_event_created"] += 1
        sessions = s.add_sessions(app, people, event_id, day=15)
        s.mark_ready(app, people, event_id)
        s.approve_publication(app, people, event_id)

        # Registration opens at 20 March 09:00 (the draft's default, once ready), not a minute before.
        clock.at(local(2026, 3, 20, 8, 59)).sweep()
        assert s.status(app, event_id) == "draft"
        clock.at(local(2026, 3, 20, 9, 0, 30)).sweep()
        assert s.status(app, event_id) == "open"

        s.register_everyone(app, people, sessions)
        kinds["registration_approved"] += 7  # A–D and two banks for matching, E for the livestream

        # 1 April: May's draft.
        clock.at(local(2026, 4, 1, 0, 5)).sweep()
        may_event = s.event_of_plan(app, may)
        assert may_event is not None and s.status(app, may_event) == "draft"
        kinds["draft_event_created"] += 1

        # Registration closes 5 April 17:00; matching 6 April 09:00 tells the organiser.
        clock.at(local(2026, 4, 5, 17, 0, 30)).sweep()
        assert s.status(app, event_id) == "closed"
        clock.at(local(2026, 4, 6, 9, 0, 30)).sweep()
        assert s.status(app, event_id) == "matched"
        planned = s.meetings(app, sessions["matching"])
        assert planned and {m["status"] for m in planned} == {"proposed"}
        assert s.messages(app, "matching_done") == [(organiser, "event", event_id)]
        kinds["matching_done"] += 1
        enterprise_d = s.enterprise_of(app, people.smes["D"])
        assert enterprise_d not in {m["enterprise_id"] for m in planned}  # 5 亿元: no product can take it

        # Publication 8 April 09:00 (approved): meetings scheduled, every party told, D chased once.
        clock.at(local(2026, 4, 8, 9, 0, 30)).sweep()
        assert s.status(app, event_id) == "published"
        scheduled = s.meetings(app, sessions["matching"])
        assert {m["status"] for m in scheduled} == {"scheduled"}
        parties = {m["enterprise_id"] for m in scheduled} | {("i", m["institution_id"]) for m in scheduled}
        kinds["schedule_published"] += len(parties)
        assert s.messages(app, "no_meeting_chase") == [(people.smes["D"], "event", event_id)]
        kinds["no_meeting_chase"] += 1

        # From the day before until the day after: a sweep every 30 minutes.
        clock.sweep_every(local(2026, 4, 14, 8), local(2026, 4, 15, 9), timedelta(minutes=30))
        assert s.status(app, event_id) == "running"  # the first session began at 09:00
        first_meeting = min(scheduled, key=lambda m: m["starts_at"])
        a_meeting = next(m for m in scheduled if m["enterprise_id"] == s.enterprise_of(app, people.smes["A"]))
        clock.sweep_every(local(2026, 4, 15, 9, 30), local(2026, 4, 15, 11, 30), timedelta(minutes=30))
        s.record_outcome_as(app, people.smes["A"], a_meeting["id"])  # A answers before being asked
        clock.sweep_every(local(2026, 4, 15, 12), local(2026, 4, 16, 14, 30), timedelta(minutes=30))
        assert s.status(app, event_id) == "running"
        clock.at(local(2026, 4, 16, 15, 0, 30)).sweep()
        assert s.status(app, event_id) == "finished"  # the livestream, the last session, ended at 15:00

        count = len(scheduled)
        kinds["meeting_reminder_24h"] += 2 * count
        kinds["meeting_reminder_1h"] += 2 * count
        # Session reminders: E for the livestream; D for the matching session it has no meeting in.
        kinds["session_reminder_24h"] += 2
        kinds["session_reminder_1h"] += 2
        kinds["outcome_request_1d"] += 2 * count - 1  # A's side of one meeting already answered
        assert s.messages(app, "session_reminder_24h") == sorted(
            [(people.smes["E"], "event_session", sessions["stream"]),
             (people.smes["D"], "event_session", sessions["matching"])])
        reminded = {object_id for _user, _type, object_id in s.messages(app, "meeting_reminder_1h")}
        assert reminded == {m["id"] for m in scheduled}
        assert first_meeting["starts_at"] == local(2026, 4, 15, 9)

        # A week after: the second outcome request; fourteen days after the last session: reported.
        clock.at(local(2026, 4, 22, 12)).sweep()
        kinds["outcome_request_7d"] += 2 * count - 1
        clock.at(local(2026, 4, 30, 14, 59)).sweep()
        assert s.status(app, event_id) == "finished"
        clock.at(local(2026, 4, 30, 15, 0, 30)).sweep()
        assert s.status(app, event_id) == "reported"
        assert s.messages(app, "event_reported") == [(organiser, "event", event_id)]
        kinds["event_reported"] += 1

        # May's draft is past its opening time but nobody added sessions or marked it ready: it stays a
        # draft. Nothing else moves after the month is done.
        assert s.status(app, may_event) == "draft"
        settled = s.messages_by_kind(app)
        clock.at(local(2026, 5, 1, 12)).sweep()
        assert s.messages_by_kind(app) == settled

    history = s.status_history(app, event_id)
    assert [(old, new) for old, new, _at, _actor in history] == [
        ("draft", "open"), ("open", "closed"), ("closed", "matched"), ("matched", "published"),
        ("published", "running"), ("running", "finished"), ("finished", "reported")]
    assert {actor for *_rest, actor in history} == {None}  # the scheduler, every time
    assert [at for _old, _new, at, _actor in history] == [
        local(2026, 3, 20, 9, 0, 30), local(2026, 4, 5, 17, 0, 30), local(2026, 4, 6, 9, 0, 30),
        local(2026, 4, 8, 9, 0, 30), local(2026, 4, 15, 9), local(2026, 4, 16, 15, 0, 30),
        local(2026, 4, 30, 15, 0, 30)]

    assert s.messages_by_kind(app) == kinds
    assert s.delivery_states(app) == Counter({"sent": sum(kinds.values())})
    sent_ids = Counter(email["X-Chainmatch-Notification"] for email in delivery.SENT_IN_MEMORY)
    assert len(sent_ids) == sum(kinds.values()) and set(sent_ids.values()) == {1}


def test_reminders_carry_the_table_and_the_room(app):
    people = s.make_people(app, smes=("A",), institutions=("I1",))
    entry = s.add_plan_entry(app, people, 2026, 4)
    with time_machine.travel(s.aware(local(2026, 3, 1, 10)), tick=False) as traveller:
        clock = Clock(app, traveller).at(local(2026, 3, 1, 10))
        clock.sweep()
        event_id = s.event_of_plan(app, entry)
        sessions = s.add_sessions(app, people, event_id, day=15)
        s.mark_ready(app, people, event_id)
        s.approve_publication(app, people, event_id)
        clock.at(local(2026, 3, 21, 9)).sweep()
        s.register_everyone(app, people, sessions, matching_smes=("A",), stream_smes=("A",))
        for moment in (local(2026, 4, 5, 18), local(2026, 4, 6, 10), local(2026, 4, 8, 10),
                       local(2026, 4, 14, 13), local(2026, 4, 15, 15)):
            clock.at(moment).sweep()

    by_kind = {email["X-Chainmatch-Kind"] + ":" + email["To"].addresses[0].addr_spec: email.get_content()
               for email in delivery.SENT_IN_MEMORY}
    sme_reminder = by_kind["meeting_reminder_24h:sme-a@example.com"]
    bank_reminder = by_kind["meeting_reminder_24h:i1@example.com"]
    assert "杭州国际博览中心 2 号厅" in sme_reminder and "洽谈桌：" in sme_reminder
    assert "I1银行杭州分行" in sme_reminder
    assert "A科技有限公司" in bank_reminder  # A consented to share its details when it registered
    stream_reminder = by_kind["session_reminder_24h:sme-a@example.com"]
    assert "https://live.example.cn/room/42" in stream_reminder
