"""Scheduler entry point of the outbox: deliver what is due, one committed step at a time."""
import logging
from dataclasses import dataclass
from datetime import datetime

from flask import current_app

from chainmatch.extensions import db
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


def deliver_due(now: datetime, limit: int = BATCH_SIZE) -> DeliveryReport:
    """Send up to `limit` due messages. Each claim is committed before sending, each result after it."""
    report = DeliveryReport()
    delivery.release_stale_claims(now)
    db.session.commit()
    ids = delivery.due_ids(now, limit)
    db.session.commit()
    if not ids:
        return report
    config = current_app.config
    backend = delivery.open_backend(config, current_app.instance_path)
    try:
        for notification_id in ids:
            if not delivery.claim(notification_id, now):
                db.session.rollback()
                report.taken_by_others += 1
                continue
            db.session.commit()
            _send_one(backend, notification_id, now, config, report)
    finally:
        backend.close()
    return report


def _send_one(backend, notification_id: int, now: datetime, config, report: DeliveryReport) -> None:
    try:
        backend.send(delivery.compose(db.session.get(Notification, notification_id), config))
    except Exception as error:  # noqa: BLE001 — any failure of one message is recorded on that message
        db.session.rollback()
        outcome = delivery.mark_failed(notification_id, now, error)
        db.session.commit()
        log.warning("notification %s not delivered (%s): %s", notification_id, outcome, error)
        if outcome == "failed":
            report.failed += 1
        else:
            report.retrying += 1
        return
    delivery.mark_sent(notification_id, now)
    db.session.commit()
    report.sent += 1
