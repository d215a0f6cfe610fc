"""政策对接 — the policy library and the eligibility and benefit calculator.

Phase 1 is pure: nothing here imports Flask or SQLAlchemy. The pages call

    library = load_library()                          # seeds/policies.yaml → Library
    facts = parse_facts(raw_mapping, library.facts)   # raises FactError naming the fact
    evaluation = evaluate(library, facts, on=date)    # → Evaluation (per-policy PolicyResult)

`policies.commands.policies_group` is the `chainmatch policies …` click group.
"""
from policies.evaluate import (
    Evaluation,
    LoanSubsidy,
    PolicyResult,
    SetAside,
    Status,
    evaluate,
    evaluate_policy,
    subsidised_loan,
)
from policies.facts import FactError, FactSpec, FactType, parse_facts
from policies.loader import load_library, parse_library, parse_policy, verify_citations
from policies.rules import Library, Policy, RuleError
from policies.text import Text

__all__ = [
    "Evaluation",
    "FactError",
    "FactSpec",
    "FactType",
    "Library",
    "LoanSubsidy",
    "Policy",
    "PolicyResult",
    "RuleError",
    "SetAside",
    "Status",
    "Text",
    "evaluate",
    "evaluate_policy",
    "load_library",
    "parse_facts",
    "parse_library",
    "parse_policy",
    "subsidised_loan",
    "verify_citations",
]
