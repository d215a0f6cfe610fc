"""从优、就高、不重复: overlapping clauses give the best once and name the ones set aside."""
import copy
import datetime as dt

import yaml

from policies import evaluate, load_library, parse_facts, parse_library
from policies.loader import library_path

AI_DAY = dt.date(2025, 6, 1)

RD = {"undertakes_national_provincial_key_rd": True, "national_provincial_funding_received": 10_000_000}
CENTRE = {"recognised_future_industry_innovation_centre": True, "has_core_leader_rd_team": True,
          "innovation_centre_investment": 20_000_000, "innovation_centre_years_funded": 1,
          "innovation_centre_project_investment": 8_000_000}


def test_same_project_the_higher_applies_once(judge_all):
    ev = judge_all({**RD, **CENTRE, "same_rd_project": True})
    rd, centre = ev.result("compute_rd_funding"), ev.result("future_industry_innovation_centre")
    assert (rd.amount, centre.amount) == (2_500_000, 4_000_000)  # 25% × 1000万; 50% × 800万
    assert rd.eligible is True and centre.eligible is True
    assert rd.set_aside_for == "future_industry_innovation_centre"
    assert centre.set_aside_for is None
    assert not rd.applies and centre.applies
    assert [(s.policy_id, s.in_favour_of, s.assumed) for s in ev.set_aside] == [
        ("compute_rd_funding", "future_industry_innovation_centre", False)]
    assert "从优不重复" in rd.reasons[-1].zh and "第(七)条" in rd.reasons[-1].zh
    assert "金额更高" in rd.reasons[-1].zh
    assert "第(一)条" in centre.reasons[-1].zh  # the winner names what it displaced
    assert ev.total_amount == 4_000_000
    row = rd.to_json()
    assert row["eligible"] is True and row["set_aside_in_favour_of"] == "future_industry_innovation_centre"


def test_different_projects_both_apply(judge_all):
    ev = judge_all({**RD, **CENTRE, "same_rd_project": False})
    assert ev.set_aside == ()
    assert ev.total_amount == 6_500_000
    assert ev.result("compute_rd_funding").applies


def test_unconfirmed_overlap_is_assumed_and_asked(judge_all):
    ev = judge_all({**RD, **CENTRE})
    assert [s.assumed for s in ev.set_aside] == [True]
    assert ev.total_amount == 4_000_000  # never double counted
    assert "same_rd_project" in [s.name for s in ev.missing_facts]
    assert "尚未确认" in ev.result("compute_rd_funding").reasons[-1].zh
    # the policy itself is decided: the overlap question is the evaluation's, not the row's
    assert ev.result("compute_rd_funding").missing_facts == ()


def test_equal_amounts_the_first_listed_applies(judge_all):
    ev = judge_all({**RD, "national_provincial_funding_received": 20_000_000,
                    **CENTRE, "innovation_centre_project_investment": 12_000_000, "same_rd_project": True})
    assert ev.result("compute_rd_funding").amount == ev.result("future_industry_innovation_centre").amount == 5_000_000
    assert ev.result("future_industry_innovation_centre").set_aside_for == "compute_rd_funding"
    assert "两项金额相同" in ev.result("future_industry_innovation_centre").reasons[-1].zh


def test_only_eligible_members_compete(judge_all):
    ev = judge_all({**RD, **CENTRE, "innovation_centre_years_funded": 3, "same_rd_project": True})
    assert ev.result("future_industry_innovation_centre").eligible is False
    assert ev.set_aside == ()
    assert ev.result("compute_rd_funding").applies


def _library_with_a_2025_batch():
    """Organisers add a later batch of the software policy (same item, new window)."""
    data = yaml.safe_load(library_path().read_text(encoding="utf-8"))
    original = next(p for p in data["policies"] if p["id"] == "software_open_source_ecosystem")
    later = copy.deepcopy(original)
    later["id"] = "software_open_source_ecosystem_2025"
    later["window"] = {"enterprise_deadline": "2025-09-30"}
    data["policies"].append(later)
    return parse_library(data)


def test_cross_document_overlap_a_stated_amount_beats_none():
    library = _library_with_a_2025_batch()
    facts = parse_facts({"open_source_contribution_recognised": True, "region": "330106",
                         "is_qualified_software_enterprise": True,
                         "original_software_on_own_open_source": True}, library.facts)
    ev = evaluate(library, facts, AI_DAY)
    assert ev.result("software_open_source_ecosystem").eligible is False  # 2024 batch closed
    later = ev.result("software_open_source_ecosystem_2025")
    assert later.eligible is True and later.amount is None
    assert later.set_aside_for == "ai_open_source_award"
    assert "本项金额未列明" in later.reasons[-1].zh
    assert ev.result("ai_open_source_award").applies
    assert ev.total_amount == 1_000_000


def test_groups_in_the_seed():
    library = load_library()
    members = {g: [p.id for p in library.group_members(g)] for g in library.groups}
    assert members == {
        "rd_project_funding": ["compute_rd_funding", "future_industry_innovation_centre"],
        "open_source_award": ["ai_open_source_award", "software_open_source_ecosystem"],
    }
