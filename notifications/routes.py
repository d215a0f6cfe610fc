"""Each user's messages: newest first, unread marked, mark one or all as read, open what one is about.
Also the outbox's health for organisers and administrators, and the administrators' requeue button."""
from datetime import UTC, datetime

from flask import Blueprint, abort, current_app, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from core.access import role_required
from core.roles import Role
from core.views import commit_or_refuse
from notifications import services
from notifications.jobs import relay_name

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


@bp.app_context_processor
def inject_outbox_health():
    """`outbox_health()` for the organisers' pages: what waits, what failed, since when the relay is down."""
    def outbox_health():
        if (not current_user or not current_user.is_authenticated
                or current_user.role not in (Role.ORGANISER, Role.ADMIN)):
            return None
        return services.outbox_health(relay_name(current_app.config))
    return {"outbox_health": outbox_health}


def _referrer_or(endpoint: str) -> str:
    """Back to the page the button was on when it is one of ours, else `endpoint`."""
    target = request.form.get("next", "")
    return target if services.is_site_path(target) else url_for(endpoint)


@bp.post("/outbox/requeue")
@role_required(Role.ADMIN)
def requeue_failed():
    """Every failed message back in the queue (an administrator's button; `chainmatch outbox retry --all`)."""
    return commit_or_refuse(
        None, lambda: services.requeue_failed(current_user, datetime.now(UTC).replace(tzinfo=None)),
        then=lambda count: current_app.logger.info("administrator %s requeued %s failed message(s)",
                                                   current_user.id, count),
        success=lambda count: _("已将 %(count)s 条发送失败的消息重新排队。", count=count),
        next_url=_referrer_or("reports.dashboard"))


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
    return commit_or_refuse(None, lambda: services.mark_read(current_user, message),
                            next_url=url_for("notifications.inbox", page=request.form.get("page", 1, type=int))
                            + f"#message-{message.id}")


@bp.post("/<int:notification_id>/open")
@login_required
def open_message(notification_id: int):
    """Mark read and go to the page the message is about."""
    message = _own_or_404(notification_id)
    return commit_or_refuse(None, lambda: services.mark_read(current_user, message),
                            next_url=message.link if services.is_site_path(message.link)
                            else url_for("notifications.inbox"))


@bp.post("/read-all")
@login_required
def mark_all_read():
    return commit_or_refuse(None, lambda: services.mark_all_read(current_user),
                            next_url=url_for("notifications.inbox"))
