"""The policy-deadline reminder: due within 7 days, to SMEs for which the policy is (maybe) open,
once per user × policy however often it runs."""
from datetime import datetime

from sqlalchemy import select

from core.clock import shanghai_date
from notifications.models import Notification
from policies.jobs import remind_policy_deadlines
from policies.models import Policy as PolicyRow
from tests.policies.pages_support import seeded, store_facts  # noqa: F401
from tests.support import factories
from tests.support.database import database

# 2024-05-25 09:00 in Shanghai: the 2024 first-batch notice closes for enterprises on 2024-05-30.
FIVE_DAYS_BEFORE = datetime(2024, 5, 25, 1, 0)


def _sent(app) -> list[tuple]:
    with database(app) as session:
        rows = session.scalars(select(Notification).order_by(Notification.id)).all()
        keys = {row.id: row.key for row in session.scalars(select(PolicyRow))}
        return [(n.user_id, n.kind, n.object_type, keys[n.object_id], n.subject, n.link) for n in rows]


def test_reminds_each_user_once_per_policy(seeded):
    with database(seeded):
        maker = factories.sme(industry="manufacturing", region_code="330106", tiers=["little_giant"])
        software = factories.sme(industry="software_it", region_code="330108")
        nanjing = factories.sme(industry="manufacturing", region_code="320100")
    store_facts(seeded, maker, project_started_on="2024-03-01", actual_investment="6000000")
    store_facts(seeded, software, is_qualified_software_enterprise=False)
    with database(seeded) as session:
        first = remind_policy_deadlines(FIVE_DAYS_BEFORE)
        session.commit()  # the scheduler's runner commits after each job
        seeded_again = remind_policy_deadlines(FIVE_DAYS_BEFORE.replace(hour=5))
        session.commit()
    sent = _sent(seeded)
    assert first == len(sent) > 0 and seeded_again == 0
    by_user = {}
    for user_id, kind, object_type, key, _subject, link in sent:
        assert (kind, object_type, link) == ("policy_deadline", "policy", "/policies/mine")
        by_user.setdefault(user_id, set()).add(key)
    assert nanjing.id not in by_user  # the notice is for Hangzhou
    assert "tech_upgrade" in by_user[maker.id]  # eligible: a little giant's 600万 project from 2024
    assert "tech_upgrade" not in by_user[software.id]  # not a manufacturer
    assert not any(key.startswith("software_") for key in by_user[software.id])  # said it is not one
    subject = next(s for u, _, _, key, s, _ in sent if u == maker.id and key == "tech_upgrade")
    assert subject == "政策申报即将截止：制造业企业技术改造资金补助（2024年第一批）（一、(一)）"


def test_nothing_before_the_window_or_after_the_deadline(seeded):
    with database(seeded):
        factories.sme(industry="manufacturing", region_code="330106")
        assert remind_policy_deadlines(datetime(2024, 5, 22, 15, 59)) == 0  # 2024-05-22 23:59 Shanghai: 8 days
        assert remind_policy_deadlines(datetime(2024, 5, 30, 16, 0)) == 0  # 2024-05-31 00:00 Shanghai: closed
        assert remind_policy_deadlines(datetime(2024, 5, 30, 15, 59)) > 0  # the last day still counts


def test_shanghai_date_of_utc():
    assert shanghai_date(datetime(2024, 5, 29, 16, 0)).isoformat() == "2024-05-30"
