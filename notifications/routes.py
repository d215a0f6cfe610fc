"""Each user's messages: newest first, unread marked, mark one or all as read, open what one is about."""
from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from chainmatch.extensions import db
from notifications import services

bp = Blueprint("notifications", __name__, url_prefix="/messages")

PAGE_SIZE = 30


@bp.app_context_processor
def inject_unread_messages():
    """`unread_messages()` for the navigation: counted only when a template calls it."""
    def unread_messages() -> int:
        if not current_user or not current_user.is_authenticated:
            return 0
        return services.unread_count(current_user)
    return {"unread_messages": unread_messages}


@bp.get("/")
@login_required
def inbox():
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    messages, has_next = services.messages_for(current_user, page, PAGE_SIZE)
    return render_template("notifications/inbox.html", messages=messages, page=page, has_next=has_next,
                           unread=services.unread_count(current_user))


def _own_or_404(notification_id: int):
    message = services.own_message(current_user, notification_id)
    if message is None:
        abort(404)
    return message


@bp.post("/<int:notification_id>/read")
@login_required
def mark_read(notification_id: int):
    message = _own_or_404(notification_id)
    services.mark_read(current_user, message)
    db.session.commit()
    return redirect(url_for("notifications.inbox", page=request.form.get("page", 1, type=int)) +
                    f"#message-{message.id}")


@bp.post("/<int:notification_id>/open")
@login_required
def open_message(notification_id: int):
    """Mark read and go to the page the message is about."""
    message = _own_or_404(notification_id)
    services.mark_read(current_user, message)
    db.session.commit()
    return redirect(message.link if services.is_site_path(message.link) else url_for("notifications.inbox"))


@bp.post("/read-all")
@login_required
def mark_all_read():
    services.mark_all_read(current_user)
    db.session.commit()
    return redirect(url_for("notifications.inbox"))
