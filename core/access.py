"""Who may do what: the role decorators and ownership checks every blueprint uses.

Shared like the extension objects; domain routes import this module and nothing else of the shell.
"""
from functools import wraps

from flask import abort
from flask_login import current_user

from core.roles import Role


def role_required(*roles: Role):
    """The view needs a signed-in user with one of `roles`; anonymous users go to sign-in."""
    if not roles or not all(isinstance(role, Role) for role in roles):
        raise TypeError(f"role_required takes Role members, not {roles!r}")

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                from core.extensions import login_manager
                return login_manager.unauthorized()
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)
        return wrapped
    return decorator


def require_owner(owner_id: int | None, user_owner_id: int | None) -> None:
    """404 when the object is not the acting user's own: we do not confirm others' ids exist."""
    if owner_id is None or owner_id != user_owner_id:
        abort(404)
