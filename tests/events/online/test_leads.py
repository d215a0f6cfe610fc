"""The lead report: what each zone and each stream brought in, and who may see which rows."""
from datetime import timedelta

import pytest

from accounts.models import User
from core.clock import utcnow
from core.errors import Forbidden, NotFound
from core.extensions import db
from events.enums import EventStatus, MeetingSource, MeetingStatus
from events.models import Event, Outcome, Registration
from events.services import online, online_leads
from tests.support import factories
from tests.support.online import lead_request, stream, visit
from tests.support.participation import make_event, make_meeting, make_session, registered_bank

WAN = 10_000


def _user(user) -> User:
    return db.session.get(User, user.id)


def _outcome(meeting, side: str, intent=None, credit=None, disbursed=None):
    db.session.add(Outcome(meeting_id=meeting.id, side=side, held=True, intent_amount_yuan=intent,
                           agreed_amount_yuan=credit, funded_amount_yuan=disbursed))
    db.session.commit()


@pytest.fixture
def world(db_session):
    """A running event with a matching session, a bank taking part and hosting a stream, two SMEs."""
    event = make_event(status=EventStatus.RUNNING)
    matching = make_session(event, starts_at=utcnow() - timedelta(hours=3))
    bank, _, _ = registered_bank(matching)
    other_bank, _, _ = registered_bank(matching)
    live = stream(event, bank, starts_at=utcnow() - timedelta(days=1))
    return {"event": event, "matching": matching, "bank": bank, "other_bank": other_bank, "stream": live,
            "smes": [factories.sme() for _ in range(3)]}


def test_zone_figures_count_views_smes_requests_meetings_and_outcomes(world):
    bank, smes, event, matching = world["bank"], world["smes"], world["event"], world["matching"]
    iid = bank.institution_id
    for user in (smes[0], smes[0], smes[1], None, None):
        visit("zone_view", institution_id=iid, user=user)
    visit("zone_view", institution_id=world["other_bank"].institution_id, user=smes[2])
    accepted = lead_request(smes[0], bank, event, "zone", status="accepted")
    placed = make_meeting(matching, smes[0], bank, slot=0, status=MeetingStatus.HELD, source=MeetingSource.REQUEST)
    placed_row = db.session.get(type(placed), placed.id)
    placed_row.request_id = accepted.id
    db.session.commit()
    _outcome(placed, "institution", intent=300 * WAN, credit=200 * WAN, disbursed=100 * WAN)
    _outcome(placed, "enterprise", intent=999 * WAN)  # the institution's record wins, the two are not added
    lead_request(smes[1], bank, event, "zone", status="declined")
    lead_request(smes[2], bank, event, "direct")  # not a zone lead
    lead_request(smes[2], bank, event, "stream", lead_session=world["stream"], status="withdrawn")

    figures = online_leads.zone_figures([iid])[iid]
    assert (figures.views, figures.viewers, figures.requests, figures.accepted, figures.meetings) == (5, 2, 2, 1, 1)
    assert (figures.intent_yuan, figures.credit_yuan, figures.disbursed_yuan) == (300 * WAN, 200 * WAN, 100 * WAN)


def test_a_meeting_the_matcher_placed_for_an_accepted_zone_request_counts_and_a_cancelled_one_does_not(world):
    bank, smes, event, matching = world["bank"], world["smes"], world["event"], world["matching"]
    asked_at = utcnow() - timedelta(days=2)
    lead_request(smes[0], bank, event, "zone", status="accepted", created_at=asked_at)
    make_meeting(matching, smes[0], bank, slot=1)  # placed later by the matcher, without request_id
    lead_request(smes[1], bank, event, "zone", status="accepted", created_at=asked_at)
    make_meeting(matching, smes[1], bank, slot=2, status=MeetingStatus.CANCELLED)
    lead_request(smes[2], bank, event, "zone", status="requested", created_at=asked_at)
    make_meeting(matching, smes[2], bank, slot=3)  # the request was never accepted: not its meeting
    figures = online_leads.zone_figures([bank.institution_id])[bank.institution_id]
    assert (figures.requests, figures.accepted, figures.meetings) == (3, 2, 1)


def test_stream_figures_count_views_clicks_viewers_and_the_requests_made_beside_it(world):
    bank, smes, event, live = world["bank"], world["smes"], world["event"], world["stream"]
    visit("stream_view", session_id=live.id, user=smes[0])
    visit("stream_view", session_id=live.id)
    visit("stream_click", session_id=live.id, user=smes[0])
    visit("stream_click", session_id=live.id)
    db.session.add(Registration(session_id=live.id, enterprise_id=smes[1].enterprise_id, status="approved"))
    db.session.commit()
    lead_request(smes[0], bank, event, "stream", lead_session=live, status="accepted")
    lead_request(smes[1], bank, event, "zone")  # a zone lead, not this stream's
    figures = online_leads.stream_figures([live.id])[live.id]
    assert (figures.views, figures.clicks, figures.viewers, figures.requests, figures.accepted) == (2, 2, 2, 1, 1)


def test_an_institution_sees_its_own_zone_and_streams_only(world):
    bank, event = world["bank"], world["event"]
    stream(event, world["other_bank"], title="别家的直播")
    report = online_leads.lead_report(_user(bank))
    assert [row.institution.id for row in report.zones] == [bank.institution_id]
    assert [row.session.id for row in report.streams] == [world["stream"].id]
    assert [e.id for e in report.events] == [event.id]
    assert online_leads.lead_report(_user(bank), event.id).event.id == event.id
    elsewhere = make_event(title="没有参加的活动")
    with pytest.raises(NotFound):
        online_leads.lead_report(_user(bank), elsewhere.id)


def test_for_one_event_zone_figures_count_its_online_season_only(world):
    bank, smes, event = world["bank"], world["smes"], world["event"]
    opens, ends = online.window_of(db.session.get(Event, event.id))
    visit("zone_view", institution_id=bank.institution_id, user=smes[0], at=opens + timedelta(hours=1))
    visit("zone_view", institution_id=bank.institution_id, user=smes[1], at=opens - timedelta(days=1))
    lead_request(smes[1], bank, None, "zone", created_at=ends + timedelta(days=1))
    everything = online_leads.lead_report(_user(bank)).zones[0].figures
    season = online_leads.lead_report(_user(bank), event.id).zones[0].figures
    assert (everything.views, everything.requests) == (2, 1)
    assert (season.views, season.viewers, season.requests) == (1, 1, 0)


def test_an_organiser_sees_every_institution_taking_part_in_an_event_of_its_region(world):
    event = world["event"]
    organiser = factories.organiser("330100")
    report = online_leads.lead_report(_user(organiser), event.id)
    assert {row.institution.id for row in report.zones} == {world["bank"].institution_id,
                                                            world["other_bank"].institution_id}
    assert [row.session.id for row in report.streams] == [world["stream"].id]
    assert online_leads.lead_report(_user(organiser)).event.id == event.id  # the default: its latest event
    ningbo = factories.organiser("330200")
    with pytest.raises(NotFound):
        online_leads.lead_report(_user(ningbo), event.id)
    assert online_leads.lead_report(_user(ningbo)).event is None
    with pytest.raises(Forbidden):
        online_leads.lead_report(_user(world["smes"][0]))


def test_totals_add_up_the_rows_but_not_distinct_viewers(world):
    bank, other, smes, event = world["bank"], world["other_bank"], world["smes"], world["event"]
    visit("zone_view", institution_id=bank.institution_id, user=smes[0])
    visit("zone_view", institution_id=other.institution_id, user=smes[0])
    lead_request(smes[0], bank, event, "zone")
    lead_request(smes[0], other, event, "zone")
    report = online_leads.lead_report(_user(factories.organiser("330100")), event.id)
    assert (report.zone_total.views, report.zone_total.requests, report.zone_total.viewers) == (2, 2, None)
