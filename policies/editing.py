"""Organisers add and edit policies. The definition is validated by `policies.parse_policy` — the
same parser the seeds go through — so a stored policy always evaluates; nothing is ever eval'ed.

Organisers edit the policies of their office's region only, as they run the events of it: every region a
policy applies to must lie inside the office's region (a district office cannot edit the city's policies,
Ningbo cannot edit Hangzhou's); administrators edit every policy.

A refusal names the form field it belongs beside (`core.errors.FieldError`): a problem in the
rule text beside `rule`, a title problem beside `title_zh`, and so on. An edited row is marked
`is_seeded = False`, so re-seeding never overwrites the organiser's version.
"""
from __future__ import annotations

import re
from typing import Any, Mapping

from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core.errors import FieldError, Forbidden
from core.extensions import db
from core.regions import region_covers
from core.roles import Role
from policies.models import Policy as PolicyRow
from policies.rules import Policy, RuleError
from policies.store import json_ready, next_sort_order, parse_definition, write_definition

ORGANISER_ROLES = (Role.ORGANISER, Role.ADMIN)

# Where a RuleError about a top-level key of the definition is shown.
FIELD_OF_KEY = {
    "id": "key", "source": "source", "title": "title_zh", "summary": "summary_zh", "clause": "clause_zh",
    "clause_text": "clause_text", "issuer": "issuer_zh", "responsible_unit": "responsible_unit_zh",
    "contact": "contact", "valid_from": "valid_from", "valid_until": "valid_until", "chains": "chains",
    "regions": "regions", "window": "enterprise_deadline",
}
_WHERE = re.compile(r"^policies\.[^.:\s\[]*(?:\.([a-z_]+))?")


def field_of(error: RuleError) -> str:
    """The form field a RuleError belongs beside (the rule text unless it names a form field)."""
    if "id must be snake_case" in str(error):
        return "key"
    match = _WHERE.match(str(error))
    key = match.group(1) if match else None
    return FIELD_OF_KEY.get(key or "", "rule")


def _check(definition: Mapping[str, Any]) -> Policy:
    try:
        policy = parse_definition(definition)
    except RuleError as error:
        raise FieldError(field_of(error), _("规则校验未通过：%(error)s", error=str(error))) from None
    except (TypeError, ValueError, KeyError) as error:  # malformed shapes the parser did not anticipate
        raise FieldError("rule", _("规则校验未通过：%(error)s", error=str(error))) from None
    if policy.valid_from and policy.valid_until and policy.valid_from > policy.valid_until:
        raise FieldError("valid_until", _l("有效期截止日不能早于起始日。"))
    window = policy.window
    if window and window.enterprise_deadline and window.district_deadline \
            and window.enterprise_deadline > window.district_deadline:
        raise FieldError("district_deadline", _l("各地经信部门报送截止日不能早于企业申报截止日。"))
    return policy


def _require_organiser(actor) -> None:
    if actor is None or actor.role not in ORGANISER_ROLES:
        raise Forbidden("only organisers edit the policy library")


def covers_regions(actor, regions) -> bool:
    """Whether `actor` may edit a policy for `regions`: an admin always, an organiser inside its office's region."""
    if actor is None or actor.role not in ORGANISER_ROLES:
        return False
    if actor.role == Role.ADMIN:
        return True
    office = actor.organiser_office
    return office is not None and bool(regions) and all(region_covers(office.region_code, str(code))
                                                       for code in regions)


def can_edit(actor, row: PolicyRow) -> bool:
    return covers_regions(actor, row.regions or [])


def _require_regions_in_scope(actor, policy: Policy) -> None:
    if not covers_regions(actor, policy.regions):
        office = actor.organiser_office
        raise FieldError("regions", _("只能添加或修改本单位辖区（%(region)s）内的政策。",
                                      region=office.region.name(str(get_locale())) if office is not None else "—"))


def create_policy(actor, definition: Mapping[str, Any]) -> PolicyRow:
    """A new policy at the end of the library. FieldError("key") when the id is taken."""
    _require_organiser(actor)
    definition = json_ready(definition)
    policy = _check(definition)
    _require_regions_in_scope(actor, policy)
    row = PolicyRow(sort_order=next_sort_order(), is_seeded=False, updated_by_user_id=actor.id)
    write_definition(row, definition, policy)
    try:
        with db.session.begin_nested():  # the unique key decides, also between two organisers at once
            db.session.add(row)
    except IntegrityError:
        raise FieldError("key", _("编号 %(key)s 已被其他政策使用。", key=policy.id)) from None
    return row


def update_policy(actor, row: PolicyRow, definition: Mapping[str, Any]) -> bool:
    """Replace a policy's definition (its key stays). Whether anything changed."""
    _require_organiser(actor)
    if not can_edit(actor, row):
        raise Forbidden("the policy lies outside the organiser's region")
    definition = json_ready({**definition, "id": row.key})
    policy = _check(definition)
    _require_regions_in_scope(actor, policy)
    changed = write_definition(row, definition, policy)
    if changed:
        row.is_seeded = False
        row.updated_by_user_id = actor.id
    db.session.flush()
    return changed


def policy_row(key: str) -> PolicyRow | None:
    return db.session.scalar(select(PolicyRow).where(PolicyRow.key == key))
