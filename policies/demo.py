"""Demo content of 政策对接: the policy library, and answers of a few demo SMEs so that "我的政策" and
the organisers' 政策对接 view have something in every state (eligible, needs information, set aside).

Idempotent: the library is seeded by key, and an answer is only added where the SME has none for that
fact. Flushes, never commits (`chainmatch demo` commits).
"""
from decimal import Decimal

from sqlalchemy import select

from market.models import Enterprise
from policies.models import EnterpriseFact
from policies.store import load_policy_library, vocabulary

DEMO_FACTS = {
    # The demo SME (sme@demo.local): compute vouchers, a model filing, a subsidised project loan.
    "杭州智算云科技有限公司": {
        "compute_contract_fee": "3000000", "compute_use": "domestic_compute",
        "compute_from_listed_provider": True, "is_foundation_model_enterprise": False,
        "model_filed_with_cac": True, "model_filing_award_received": False, "model_evaluation_fees": "420000",
        "in_government_layout": True, "project_total_investment": "80000000", "loan_principal": "20000000",
        "loan_rate": "0.0385", "undertakes_national_provincial_key_rd": False,
    },
    "杭州数衡多模态数据科技有限公司": {
        "compute_contract_fee": "36000000", "compute_use": "registered_model_service",
        "is_foundation_model_enterprise": True, "open_source_contribution_recognised": True,
    },
    "杭州灵境智能体科技有限公司": {
        "compute_contract_fee": "900000", "compute_use": "other_compute", "model_filed_with_cac": True,
        "model_filing_award_received": True, "has_ai_competition_winners": True,
    },
    "杭州芯瞳半导体有限公司": {
        "undertakes_national_provincial_key_rd": True, "national_provincial_funding_received": "12000000",
        "recognised_future_industry_innovation_centre": True, "has_core_leader_rd_team": True,
        "innovation_centre_investment": "15000000", "innovation_centre_project_investment": "6000000",
        "innovation_centre_years_funded": 0,
    },
}


def load_demo(session) -> dict:
    counts = load_policy_library(session)
    specs = vocabulary().facts
    added = 0
    enterprises = {e.name: e for e in session.scalars(select(Enterprise).where(Enterprise.name.in_(DEMO_FACTS)))}
    present = {(eid, name) for eid, name in session.execute(
        select(EnterpriseFact.enterprise_id, EnterpriseFact.name)
        .where(EnterpriseFact.enterprise_id.in_([e.id for e in enterprises.values()])))}
    for name, answers in DEMO_FACTS.items():
        enterprise = enterprises.get(name)
        if enterprise is None:
            continue
        for fact, raw in answers.items():
            if (enterprise.id, fact) in present:
                continue
            specs[fact].parse(raw)  # the demo data must be valid
            value = raw if not isinstance(raw, Decimal) else str(raw)
            session.add(EnterpriseFact(enterprise_id=enterprise.id, name=fact, value=value))
            added += 1
    session.flush()
    return {**counts, "enterprise_facts": {"created": added, "present": len(present), "updated": 0, "skipped": 0}}
