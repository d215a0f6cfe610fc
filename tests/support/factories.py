"""Small builders of test data, going through the services where there is one, committing.

Call them inside an app context (``with app.app_context():`` or the ``session`` fixture). Each
returns the ORM object with its columns loaded, so ids and plain attributes stay readable after
the context is gone; relationships must be read inside a context.

Reference data used (from seeds/): chain "ai" with nodes such as "ai/compute", regions 330000
浙江省, 330100 杭州市, 330106 西湖区, 330200 宁波市, 320100 南京市.
"""
import itertools

from sqlalchemy import delete

from accounts import services as accounts
from accounts.models import OrganiserOffice, User
from core.clock import utcnow
from core.extensions import db
from core.roles import Role
from market import services as market
from market.credit_code import make_credit_code
from market.enums import InstitutionStatus
from notifications.models import Notification
from tests.conftest import DEMO_PASSWORD

_serial = itertools.count(1)


def _next() -> int:
    return next(_serial)


def credit_code(serial: int | None = None, region: str = "330106") -> str:
    """A valid 统一社会信用代码 (企业, 91), unique per serial."""
    serial = _next() if serial is None else serial
    return make_credit_code(f"91{region}{serial:09d}")


def _loaded(obj):
    """Commit and load the columns, so that the object can be read once detached."""
    db.session.commit()
    db.session.refresh(obj)
    return obj


def enterprise_facts(**overrides) -> market.EnterpriseFacts:
    serial = _next()
    facts = dict(credit_code=credit_code(serial), name=f"测试企业{serial}有限公司", region_code="330106",
                 chain_code="ai", node_keys=["ai/compute"], stage="growth", industry="software_it",
                 employees=80, revenue_yuan=30_000_000, total_assets_yuan=None, tiers=["innovative_sme"],
                 description="", contact_name="张三", contact_phone="0571-55500000")
    facts.update(overrides)
    return market.EnterpriseFacts(**facts)


def _verified(user: User) -> User:
    """The state of an account whose owner opened the verification mail long ago: verified, that mail gone."""
    user.email_verified_at = utcnow()
    db.session.execute(delete(Notification).where(Notification.user_id == user.id,
                                                  Notification.kind == "account_verify_email"))
    return user


def sme(email: str | None = None, **enterprise) -> User:
    """An enterprise and its SME user (signed up through the accounts service, address verified)."""
    email = email or f"sme{_next()}@example.com"
    user = accounts.sign_up_sme(email, "企业用户", DEMO_PASSWORD, enterprise_facts(**enterprise))
    return _loaded(_verified(user))


def institution_facts(**overrides) -> market.InstitutionFacts:
    serial = _next()
    facts = dict(name=f"测试银行{serial}分行", kind="bank", kind_other="", region_codes=[],
                 contact_name="李四", contact_phone="0571-55500001", contact_email=f"bank{serial}@example.com",
                 description="", website="")
    facts.update(overrides)
    return market.InstitutionFacts(**facts)


def institution_user(email: str | None = None, status: str = InstitutionStatus.APPROVED,
                     review_note: str = "", **institution) -> User:
    """An institution (approved unless `status` says otherwise) and its user."""
    email = email or f"inst{_next()}@example.com"
    user = _verified(accounts.sign_up_institution(email, "机构用户", DEMO_PASSWORD, institution_facts(**institution)))
    if status != InstitutionStatus.PENDING:
        user.institution.status = InstitutionStatus(status).value
        user.institution.reviewed_at = utcnow()
    user.institution.review_note = review_note
    return _loaded(user)


def office(region_code: str = "330100", name: str | None = None) -> OrganiserOffice:
    office = OrganiserOffice(name=name or f"测试主办单位{_next()}", region_code=region_code)
    db.session.add(office)
    return _loaded(office)


def organiser(region_code: str = "330100", email: str | None = None) -> User:
    """An organiser office for `region_code` and one of its users."""
    the_office = office(region_code)
    user = User(email=email or f"organiser{_next()}@example.com", display_name="主办方用户",
                role=Role.ORGANISER.value, organiser_office_id=the_office.id, locale="zh", email_verified_at=utcnow())
    user.set_password(DEMO_PASSWORD)
    db.session.add(user)
    return _loaded(user)


def admin(email: str | None = None) -> User:
    user = User(email=email or f"admin{_next()}@example.com", display_name="管理员", role=Role.ADMIN.value,
                locale="zh", email_verified_at=utcnow())
    user.set_password(DEMO_PASSWORD)
    db.session.add(user)
    return _loaded(user)


def need_facts(**overrides) -> market.NeedFacts:
    facts = dict(type="loan", amount_yuan=5_000_000, term_months=12, purpose="购置液冷服务器，扩充算力。",
                 collateral=["credit"])
    facts.update(overrides)
    return market.NeedFacts(**facts)


def need(owner: User, **overrides):
    """A need of `owner`'s enterprise (`owner` may be detached: only its ids are used)."""
    actor = db.session.get(User, owner.id)
    return _loaded(market.create_need(actor, need_facts(**overrides)))


def product_facts(**overrides) -> market.ProductFacts:
    facts = dict(name=f"测试产品{_next()}", type="loan", description="", amount_min_yuan=1_000_000,
                 amount_max_yuan=10_000_000, rate_min_bp=350, rate_max_bp=450, term_min_months=6,
                 term_max_months=36, chain_codes=[], region_codes=[], stages=[], tiers=[], collateral=["credit"],
                 is_exclusive=False, response_working_days=5)
    facts.update(overrides)
    return market.ProductFacts(**facts)


def product(owner: User, **overrides):
    """A product of `owner`'s institution."""
    actor = db.session.get(User, owner.id)
    return _loaded(market.create_product(actor, product_facts(**overrides)))


def unsaved_meeting(session, slot: int | None, table: int | None, **columns):
    """A Meeting of `session` at `slot` and `table`, its stored interval set the way the services set it
    (events.services.availability.set_place); not added to the database session."""
    from events.models import Meeting
    from events.services.availability import set_place
    meeting = Meeting(**columns)
    meeting.session_id = getattr(session, "id", None)
    meeting.session = session
    if slot is not None:
        set_place(meeting, session, slot, table)
    return meeting
