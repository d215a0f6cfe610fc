"""chainmatch's matchmaking engine: pure Python (numpy + OR-Tools), no Flask, no database.

    from matchmaking import Instance, Enterprise, Need, Institution, Product, Request
    plan = plan_meetings(instance)          # raises InputError on bad input

Layers: model / validation (records, InputError) → columns (numpy view) → eligibility
(hard rules) → scoring (weighted parts) → candidates (best need × product per pair, chunked)
→ allocation (min-cost flow) → timetable (edge colouring) → explain (zh/en reasons),
diagnosis (why unmatched) → result (Plan). engine ties them together; jsonio is the JSON front
door; synthetic and bench generate and time benchmark instances.
"""
from .eligibility import failing_rule, region_covers
from .engine import Recommendation, plan_meetings, recommend
from .jsonio import dumps_plan, instance_from_dict, load_instance, plan_to_dict, write_atomic
from .model import (
    COLLATERAL_KINDS,
    FINANCING_TYPES,
    STAGES,
    Enterprise,
    InputError,
    Instance,
    Institution,
    Need,
    Product,
    Request,
)
from .result import REASON_TEXT, Meeting, Plan, UnkeptRequest, Unmatched, Unplaced
from .scoring import PARTS, WEIGHTS, Reason
from .validation import validate

__all__ = [
    "COLLATERAL_KINDS", "FINANCING_TYPES", "PARTS", "REASON_TEXT", "STAGES", "WEIGHTS",
    "Enterprise", "InputError", "Institution", "Instance", "Meeting", "Need", "Plan", "Product",
    "Reason", "Recommendation", "Request", "UnkeptRequest", "Unmatched", "Unplaced",
    "dumps_plan", "failing_rule", "instance_from_dict", "load_instance", "plan_meetings",
    "plan_to_dict", "recommend", "region_covers", "validate", "write_atomic",
]
