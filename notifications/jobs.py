"""Scheduler entry point of the outbox: deliver what is due, one committed step at a time."""
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app

from core.extensions import db
from notifications import delivery
from notifications.models import Notification

log = logging.getLogger(__name__)

BATCH_SIZE = 200


@dataclass
class DeliveryReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    taken_by_others: int = 0
    expired: int = 0          # dropped: their send-by time passed
    released: int = 0         # claims abandoned by a deliverer that died, queued again
    relay_down: bool = False  # this run found the relay down and stopped
    relay_waiting: bool = False  # the relay failed recently: this run did not try it


def relay_name(config) -> str:
    """The relay state's key: the mail backend in use."""
    return str(config.get("MAIL_BACKEND", "file"))


def deliver_due(now: datetime, limit: int = BATCH_SIZE) -> DeliveryReport:
    """Send up to `limit` due messages over one connection. Each claim is committed before sending, each result
    after it; the first relay failure ends the run without counting against any message."""
    report = DeliveryReport()
    config = current_app.config
    relay = relay_name(config)
    report.released = delivery.release_stale_claims(now, delivery.claim_lease(config))
    report.expired = delivery.expire_stale(now)
    db.session.commit()
    if not delivery.relay_ready(relay, now):
        report.relay_waiting = True
        return report
    ids = delivery.due_ids(now, limit)
    db.session.commit()
    if not ids:
        return report
    started = time.monotonic()
    backend = delivery.open_backend(config, current_app.instance_path)
    try:
        for notification_id in ids:
            # The claim carries the time it is really made, so a long batch's last claims are not born stale.
            moment = now + timedelta(seconds=time.monotonic() - started)
            if not delivery.claim(notification_id, moment):
                db.session.rollback()
                report.taken_by_others += 1
                continue
            db.session.commit()
            if not _send_one(backend, relay, notification_id, now, config, report):
                break
    finally:
        backend.close()
    return report


def _send_one(backend, relay: str, notification_id: int, now: datetime, config, report: DeliveryReport) -> bool:
    """Send one claimed row; False when the relay failed and the run must stop."""
    try:
        backend.send(delivery.compose(db.session.get(Notification, notification_id), config))
    except Exception as error:  # noqa: BLE001 — every failure is recorded, on the relay or on the message
        db.session.rollback()
        if not isinstance(error, delivery.RecipientUnreachable) and delivery.is_relay_failure(error):
            delivery.release_claim(notification_id, error)
            state = delivery.record_relay_failure(relay, now, error)
            db.session.commit()
            log.warning("mail relay %s unavailable (down since %s, next try %s): %s",
                        relay, state.down_since, state.next_try_at, error)
            report.relay_down = True
            return False
        outcome = delivery.mark_failed(notification_id, now, error)
        db.session.commit()
        log.warning("notification %s not delivered (%s): %s", notification_id, outcome, error)
        if outcome == "failed":
            report.failed += 1
        else:
            report.retrying += 1
        return True
    delivery.mark_sent(notification_id, now)
    if report.sent == 0:
        down_since = delivery.record_relay_ok(relay, now)
        if down_since is not None:
            log.info("mail relay %s works again (down since %s)", relay, down_since)
    db.session.commit()
    report.sent += 1
    return True
