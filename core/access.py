"""Who may do what: the role decorator of the views and the one ownership check of the services.

Views take `role_required`; services call `require_owner`, whose NotFound chainmatch/web.py answers with 404.
"""
from functools import wraps

from flask import abort
from flask_login import current_user

from core.errors import NotFound
from core.extensions import login_manager
from core.roles import Role


def role_required(*roles: Role):
    """The view needs a signed-in user with one of `roles`; anonymous users go to sign-in."""
    if not roles or not all(isinstance(role, Role) for role in roles):
        raise TypeError(f"role_required takes Role members, not {roles!r}")

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)
        return wrapped
    return decorator


def require_owner(owner_id: int | None, user_owner_id: int | None) -> None:
    """Raise NotFound (answered 404) unless the object is the acting user's own: we do not confirm
    that others' ids exist. Either id None (no object, or an actor without an enterprise/institution)
    is never a match."""
    if owner_id is None or user_owner_id is None or owner_id != user_owner_id:
        raise NotFound()
