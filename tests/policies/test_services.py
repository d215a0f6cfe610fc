"""The policy services against the database: seeding, stored and derived facts, the organisers'
editor, the per-event view and the loan subsidy."""
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from accounts.models import User
from core.errors import FieldError, Forbidden, NotFound
from core.extensions import db
from events.enums import RegistrationStatus
from events.models import Registration
from market.models import Product
from policies import editing, evaluate, services
from policies.enterprise_facts import facts_of
from policies.loader import load_library
from policies.models import EnterpriseFact
from policies.models import Policy as PolicyRow
from policies.store import current_library, load_policy_library, parse_definition, seed_file, vocabulary
from tests.policies.pages_support import AI_DAY, seeded, store_facts  # noqa: F401
from tests.support import factories
from tests.support.database import database
from tests.support.events import make_event, make_session


def _rows(session) -> dict[str, PolicyRow]:
    return {row.key: row for row in session.scalars(select(PolicyRow))}


# ---- seeds ---------------------------------------------------------------------------------------

def test_seeding_is_idempotent_and_keeps_the_file_order(app):
    with database(app) as session:
        first = load_policy_library(session)["policies"]
        session.commit()
        before = {key: (row.id, row.definition, row.updated_at) for key, row in _rows(session).items()}
        second = load_policy_library(session)["policies"]
        assert not session.new and not session.dirty
        session.commit()
        after = {key: (row.id, row.definition, row.updated_at) for key, row in _rows(session).items()}
    yaml_ids = [p.id for p in load_library().policies]
    assert first == {"created": len(yaml_ids), "present": 0, "updated": 0, "skipped": 0}
    assert second == {"created": 0, "present": len(yaml_ids), "updated": 0, "skipped": 0}
    assert before == after
    with database(app):
        assert [p.id for p in current_library().library.policies] == yaml_ids


def test_every_stored_definition_evaluates_like_the_yaml(app):
    """Stored as JSON (dates as strings, source defaults applied), each policy parses back equal."""
    yaml_library = load_library()
    with database(app) as session:
        load_policy_library(session)
        session.commit()
        for key, row in _rows(session).items():
            assert parse_definition(row.definition) == yaml_library.policy(key), key
        row = _rows(session)["tech_upgrade"]
        assert (row.enterprise_deadline.isoformat(), row.district_deadline.isoformat()) == ("2024-05-30", "2024-06-10")
        assert row.clause_zh == "一、(一)" and row.regions == ["330100"] and row.is_seeded
        voucher = _rows(session)["compute_voucher"]
        assert voucher.valid_until.isoformat() == "2027-12-31"  # from the source's defaults
        assert "“算力券”按不超过算力合同费用的30%" in voucher.clause_text


def test_seeded_rows_follow_the_file_but_organiser_edits_are_kept(app):
    with database(app) as session:
        load_policy_library(session)
        session.commit()
        rows = _rows(session)
        drifted = rows["compute_voucher"]
        drifted.definition = {**drifted.definition, "summary": {"zh": "旧摘要", "en": "old"}}
        organiser = factories.organiser()
        edited = rows["model_filing_award"]
        definition = {**edited.definition, "summary": {"zh": "主办方改过的摘要", "en": "Edited by the organiser"}}
        editing.update_policy(db.session.get(User, organiser.id), edited, definition)
        session.commit()
        counts = load_policy_library(session)["policies"]
        session.commit()
        rows = _rows(session)
        assert counts["updated"] == 1 and counts["skipped"] == 1
        assert rows["compute_voucher"].definition == next(d for d in seed_file().definitions
                                                          if d["id"] == "compute_voucher")
        assert rows["model_filing_award"].definition["summary"]["zh"] == "主办方改过的摘要"
        assert not rows["model_filing_award"].is_seeded
        assert rows["model_filing_award"].updated_by_user_id == organiser.id


# ---- facts --------------------------------------------------------------------------------------

def test_region_tiers_and_manufacturing_are_read_off_the_profile(app):
    with database(app) as session:
        maker = factories.sme(industry="manufacturing", tiers=["little_giant", "tech_sme"], region_code="330106")
        other = factories.sme(industry="other", tiers=[])
        specs = vocabulary().facts
        facts, derived = facts_of(session.get(User, maker.id).enterprise, specs)
        assert facts == {"region": "330106", "tiers": frozenset({"little_giant"}), "is_manufacturing": True}
        assert derived == {"region", "tiers", "is_manufacturing"}
        facts, derived = facts_of(session.get(User, other.id).enterprise, specs)
        assert "is_manufacturing" not in facts and facts["tiers"] == frozenset()


def test_answers_are_stored_once_typed_and_exactly(seeded):
    user = factories_sme(seeded)
    store_facts(seeded, user, compute_contract_fee=Decimal("1234567.89"), compute_use="domestic_compute",
                loan_rate=Decimal("0.0385"), project_started_on="2024-02-01", model_filed_with_cac="false",
                region="110000")  # derived: ignored
    store_facts(seeded, user, compute_contract_fee="3000000")  # a second answer replaces the first
    with database(seeded) as session:
        stored = dict(session.execute(select(EnterpriseFact.name, EnterpriseFact.value)
                                      .where(EnterpriseFact.enterprise_id == user.enterprise_id)).all())
        assert stored == {"compute_contract_fee": "3000000", "compute_use": "domestic_compute", "loan_rate": "0.0385",
                          "project_started_on": "2024-02-01", "model_filed_with_cac": False}
        view = services.my_policies(session.get(User, user.id), on=AI_DAY)
        assert view.facts["compute_contract_fee"] == Decimal("3000000") and view.facts["region"] == "330106"
        assert view.evaluation.result("compute_voucher").amount == 900_000


def test_bad_answers_store_nothing(seeded):
    user = factories_sme(seeded)
    with database(seeded) as session:
        actor = session.get(User, user.id)
        with pytest.raises(services.FactErrors) as caught:
            services.save_fact_answers(actor, {"compute_contract_fee": "100", "compute_use": "gpu",
                                               "model_evaluation_fees": "-5"}, vocabulary().facts)
        assert set(caught.value.errors) == {"compute_use", "model_evaluation_fees"}
        session.rollback()
        assert session.scalar(select(func.count()).select_from(EnterpriseFact)) == 0


def factories_sme(app, **overrides):
    with database(app):
        return factories.sme(**overrides)


# ---- 从优、就高、不重复 ---------------------------------------------------------------------------

def test_overlapping_clauses_apply_once(seeded):
    user = factories_sme(seeded, chain_code="ai")
    store_facts(seeded, user, undertakes_national_provincial_key_rd=True,
                national_provincial_funding_received="8000000", recognised_future_industry_innovation_centre=True,
                has_core_leader_rd_team=True, innovation_centre_investment="20000000",
                innovation_centre_project_investment="6000000", innovation_centre_years_funded=0,
                same_rd_project=True)
    with database(seeded) as session:
        view = services.my_policies(session.get(User, user.id), on=AI_DAY)
    rd = view.evaluation.result("compute_rd_funding")
    centre = view.evaluation.result("future_industry_innovation_centre")
    assert (rd.amount, centre.amount) == (2_000_000, 3_000_000)
    assert rd.set_aside_for == "future_industry_innovation_centre" and centre.set_aside_for is None
    assert view.set_aside["compute_rd_funding"].in_favour_of == "future_industry_innovation_centre"
    assert [s.policy_id for s in view.displaced["future_industry_innovation_centre"]] == ["compute_rd_funding"]


# ---- organisers: editing ------------------------------------------------------------------------

def _definition(**changes):
    definition = {
        "id": "demo_grant", "source": "hz_ai_measures", "title": {"zh": "演示补助", "en": "Demo grant"},
        "summary": {"zh": "不超过50万元", "en": "Up to CNY 500,000"}, "clause": {"zh": "第(九)条", "en": "Art. (9)"},
        "clause_text": "(九)演示条款。", "responsible_unit": {"zh": "杭州市经信局", "en": "Hangzhou Bureau"},
        "regions": ["330100"], "valid_from": "2025-01-01", "valid_until": "2025-12-31",
        "window": {"enterprise_deadline": "2025-06-30"}, "facts": ["compute_contract_fee"],
        "conditions": {"fact": "compute_contract_fee", "op": ">", "value": 0},
        "benefit": {"kind": "up_to", "max": 500000, "period": "one_off", "description": {"zh": "50万", "en": "500k"}},
    }
    definition.update(changes)
    return definition


@pytest.mark.parametrize("changes, field, words", [
    ({"benefit": {"kind": "formula", "description": {"zh": "x", "en": "x"}}}, "rule", "needs an expr"),
    ({"conditions": {"fact": "no_such_fact", "op": "==", "value": True}}, "rule", "unknown fact"),
    ({"regions": ["33010"]}, "regions", "not a GB/T 2260 code"),
    ({"title": {"zh": "只有中文"}}, "title_zh", "expected"),
    ({"valid_from": "2026-01-01"}, "valid_until", "不能早于"),
    ({"window": {"enterprise_deadline": "2025-07-01", "district_deadline": "2025-06-01"}}, "district_deadline", "不能早于"),
    ({"source": "nowhere"}, "source", "unknown source"),
])
def test_a_bad_definition_is_refused_beside_its_field(seeded, changes, field, words):
    with seeded.test_request_context():  # the messages are lazy translations
        session = db.session
        organiser = factories.organiser()
        with pytest.raises(FieldError) as caught:
            editing.create_policy(session.get(User, organiser.id), _definition(**changes))
        session.rollback()
        assert caught.value.field == field and words in str(caught.value.message)
        assert editing.policy_row("demo_grant") is None


def test_organisers_add_a_policy_that_then_evaluates(seeded):
    with seeded.test_request_context():  # refusals carry lazy translations
        session = db.session
        organiser = factories.organiser()
        row = editing.create_policy(session.get(User, organiser.id), _definition())
        session.commit()
        assert not row.is_seeded and row.sort_order == len(load_library().policies)
        assert row.enterprise_deadline.isoformat() == "2025-06-30"
        with pytest.raises(FieldError) as caught:
            editing.create_policy(session.get(User, organiser.id), _definition())
        assert caught.value.field == "key"
        session.rollback()
        result = evaluate(current_library().library, {"compute_contract_fee": Decimal(1)}, AI_DAY)
        assert result.result("demo_grant").amount == 500_000
        sme = factories.sme()
        with pytest.raises(Forbidden):
            editing.create_policy(session.get(User, sme.id), _definition(id="other_grant"))


# ---- 政策对接 for an event -----------------------------------------------------------------------

def test_event_view_counts_the_approved_smes_in_the_organisers_region(seeded):
    with database(seeded) as session:
        organiser = factories.organiser("330100")
        event = make_event(organiser)
        session_ = make_session(organiser, event)
        approved, pending = factories.sme(), factories.sme()
        session.add_all([
            Registration(session_id=session_.id, enterprise_id=approved.enterprise_id,
                         status=RegistrationStatus.APPROVED.value),
            Registration(session_id=session_.id, enterprise_id=pending.enterprise_id,
                         status=RegistrationStatus.PENDING.value)])
        session.commit()
    store_facts(seeded, approved, compute_contract_fee="1000000", compute_use="other_compute")
    with database(seeded) as session:
        view = services.event_policies(session.get(User, organiser.id), event.id, on=AI_DAY)
        assert [row.enterprise.id for row in view.rows] == [approved.enterprise_id]
        voucher = next(t for t in view.tallies if t.policy.id == "compute_voucher")
        assert [(e.id, r.amount) for e, r in voucher.eligible] == [(approved.enterprise_id, 200_000)]
        elsewhere = factories.organiser("320100")
        with pytest.raises(NotFound):
            services.event_policies(session.get(User, elsewhere.id), event.id, on=AI_DAY)


# ---- loans ----------------------------------------------------------------------------------------

def test_effective_rate_after_the_interest_subsidy(seeded):
    with database(seeded) as session:
        bank = factories.institution_user()
        ai_loan = factories.product(bank, chain_codes=["ai"], rate_min_bp=385, rate_max_bp=450,
                                    amount_max_yuan=10_000_000)
        plain = factories.product(bank, chain_codes=["pharma"])
        nanjing = factories.product(bank, chain_codes=["ai"], region_codes=["320100"])
        view = services.loan_subsidy_for_product(None, ai_loan, on=AI_DAY)
        assert (view.effective_low, view.effective_high) == (Decimal("0.0235"), Decimal("0.0300"))
        assert view.conditional and view.policy.id == "compute_interest_subsidy"
        assert services.loan_subsidy_for_product(None, plain, on=AI_DAY) is None
        assert services.loan_subsidy_for_product(None, nanjing, on=AI_DAY) is None
        assert services.loan_subsidy_for_product(None, ai_loan, on=AI_DAY.replace(year=2028)) is None
        low_rate = factories.product(bank, chain_codes=["ai"], rate_min_bp=200, rate_max_bp=200)
        assert services.loan_subsidy_for_product(None, low_rate, on=AI_DAY).effective_low == Decimal("0.0100")
    sme = factories_sme(seeded, chain_code="ai")
    with database(seeded) as session:
        actor = session.get(User, sme.id)
        assert services.loan_subsidy_for_product(actor, session.get(Product, plain.id), on=AI_DAY) is None  # pharma
        assert services.loan_subsidy_for_product(actor, session.get(Product, ai_loan.id), on=AI_DAY).conditional
    store_facts(seeded, sme, in_government_layout=True, project_total_investment="60000000")
    with database(seeded) as session:
        view = services.loan_subsidy_for_product(session.get(User, sme.id), session.get(Product, ai_loan.id), on=AI_DAY)
        assert not view.conditional and view.effective_low == Decimal("0.0235")
    store_facts(seeded, sme, in_government_layout=False)
    with database(seeded) as session:
        assert services.loan_subsidy_for_product(session.get(User, sme.id), session.get(Product, ai_loan.id),
                                                 on=AI_DAY) is None


# ---- the organisers' scope ------------------------------------------------------------------------

@pytest.mark.parametrize("office, may_edit", [("330100", True), ("330000", True), ("330200", False),
                                              ("330106", False), ("320100", False)])
def test_organisers_edit_the_policies_of_their_region_only(seeded, office, may_edit):
    """A Hangzhou policy: the Hangzhou and Zhejiang offices may edit it; Ningbo, a Hangzhou district office and
    Nanjing may not, neither by the page nor by the service."""
    with seeded.test_request_context():
        session = db.session
        organiser = session.get(User, factories.organiser(office).id)
        row = editing.policy_row("compute_voucher")
        assert editing.can_edit(organiser, row) is may_edit
        definition = {**row.definition, "summary": {"zh": "改过", "en": "Changed"}}
        if may_edit:
            assert editing.update_policy(organiser, row, definition) is True
        else:
            with pytest.raises(Forbidden):
                editing.update_policy(organiser, row, definition)
        session.rollback()


def test_a_policy_for_another_region_is_refused_beside_the_regions(seeded):
    with seeded.test_request_context():
        session = db.session
        hangzhou = session.get(User, factories.organiser("330100").id)
        with pytest.raises(FieldError) as caught:
            editing.create_policy(hangzhou, _definition(regions=["330200"]))
        assert caught.value.field == "regions" and "杭州市" in str(caught.value.message)
        session.rollback()
        row = editing.policy_row("compute_voucher")
        with pytest.raises(FieldError) as caught:  # nor can it move its own policy out of its region
            editing.update_policy(hangzhou, row, {**row.definition, "regions": ["330100", "330200"]})
        assert caught.value.field == "regions"
        session.rollback()
        admin = session.get(User, factories.admin().id)
        assert editing.create_policy(admin, _definition(regions=["330200"])).regions == ["330200"]


def test_the_edit_page_is_refused_outside_the_region(seeded):
    with database(seeded):
        ningbo, hangzhou = factories.organiser("330200"), factories.organiser("330100")
    from tests.conftest import sign_in
    outside, inside = seeded.test_client(), seeded.test_client()
    sign_in(outside, ningbo.email)
    sign_in(inside, hangzhou.email)
    assert outside.get("/policies/clause/compute_voucher/edit").status_code == 403
    assert "编辑政策" not in outside.get("/policies/clause/compute_voucher").get_data(as_text=True)
    assert "编辑政策" in inside.get("/policies/clause/compute_voucher").get_data(as_text=True)
