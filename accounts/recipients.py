"""The users of a party: who hears about what happens to an enterprise, an institution or an office.

One rule everywhere: an enabled user of the party in the party's role (an enterprise's SME users, an
institution's users, an office's organisers). Services pass these users to `notifications.services.notify`.
"""
from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import select

from accounts.models import User
from core.extensions import db
from core.roles import Role


def _active(role: Role):
    return select(User).where(User.is_enabled.is_(True), User.role == role.value).order_by(User.id)


def enterprise_users(enterprise_id: int) -> list[User]:
    return list(db.session.scalars(_active(Role.SME).where(User.enterprise_id == enterprise_id)))


def institution_users(institution_id: int) -> list[User]:
    return list(db.session.scalars(_active(Role.INSTITUTION).where(User.institution_id == institution_id)))


def party_users(enterprise_id: int | None = None, institution_id: int | None = None) -> list[User]:
    """The users of an enterprise (when `enterprise_id` is given) or else of an institution."""
    return enterprise_users(enterprise_id) if enterprise_id is not None else institution_users(institution_id)


def office_organisers(office_id: int) -> list[User]:
    """The organisers of an office (told about matching, drafts and reports of its events)."""
    return list(db.session.scalars(_active(Role.ORGANISER).where(User.organiser_office_id == office_id)))


def admins() -> list[User]:
    return list(db.session.scalars(_active(Role.ADMIN)))


class PartyUsers:
    """The users of many parties, read in at most two queries (for the sweeps that tell many at once)."""

    def __init__(self, enterprise_ids: Iterable[int] = (), institution_ids: Iterable[int] = ()):
        self.by_enterprise: dict[int, list[User]] = defaultdict(list)
        self.by_institution: dict[int, list[User]] = defaultdict(list)
        for role, column, ids, into in (
                (Role.SME, User.enterprise_id, set(enterprise_ids), self.by_enterprise),
                (Role.INSTITUTION, User.institution_id, set(institution_ids), self.by_institution)):
            ids = sorted(i for i in ids if i is not None)
            for chunk in (ids[i:i + 500] for i in range(0, len(ids), 500)):
                for user in db.session.scalars(_active(role).where(column.in_(chunk))):
                    into[getattr(user, column.key)].append(user)

    def of(self, enterprise_id: int | None = None, institution_id: int | None = None) -> list[User]:
        if enterprise_id is not None:
            return self.by_enterprise.get(enterprise_id, [])
        return self.by_institution.get(institution_id, [])
