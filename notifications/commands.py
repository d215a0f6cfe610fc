"""`chainmatch outbox …`: see what waits and failed, and requeue messages that failed for good.

Registered by the shell (chainmatch/cli.py). Documented in docs/operations.md ("The outbox").
"""
import re
from datetime import UTC, datetime, timedelta

import click
from flask import current_app
from flask.cli import AppGroup

from core.actors import OPERATOR
from core.clock import format_shanghai, shanghai_wall_to_utc
from core.extensions import db
from notifications import services
from notifications.jobs import relay_name

LARGEST_ID = 2**31 - 1
LONGEST_LOOKBACK_DAYS = 3650
RELATIVE = re.compile(r"^(\d{1,6})([mhd])$")
ABSOLUTE_FORMATS = ("%Y-%m-%d", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M")


class BadArgument(click.UsageError):
    """Exit status 2 with a message naming the argument."""


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def parse_since(text: str, now: datetime) -> datetime:
    """`--since`: "6h", "90m", "2d" before now, or a Beijing-time date or "YYYY-MM-DD HH:MM"; naive UTC."""
    if "\x00" in text:
        raise BadArgument("--since: NUL bytes are not allowed")
    value = text.strip()
    relative = RELATIVE.match(value)
    if relative:
        amount, unit = int(relative.group(1)), relative.group(2)
        delta = {"m": timedelta(minutes=amount), "h": timedelta(hours=amount), "d": timedelta(days=amount)}[unit]
        if delta > timedelta(days=LONGEST_LOOKBACK_DAYS):
            raise BadArgument(f"--since: at most {LONGEST_LOOKBACK_DAYS} days back, not {value!r}")
        return now - delta
    for pattern in ABSOLUTE_FORMATS:
        try:
            local = datetime.strptime(value, pattern)
        except ValueError:
            continue
        moment = shanghai_wall_to_utc(local)
        if moment > now:
            raise BadArgument(f"--since: {value!r} is in the future")
        if now - moment > timedelta(days=LONGEST_LOOKBACK_DAYS):
            raise BadArgument(f"--since: at most {LONGEST_LOOKBACK_DAYS} days back, not {value!r}")
        return moment
    raise BadArgument(f"--since: expected e.g. 6h, 90m, 2d, 2026-12-01 or '2026-12-01 08:00' "
                      f"(Beijing time), not {value!r}")


def _local(moment: datetime | None) -> str:
    if moment is None:
        return "—"
    return format_shanghai(moment, "%Y-%m-%d %H:%M:%S") + " (Beijing)"


outbox_group = AppGroup("outbox", help="The outbox (e-mail delivery): status, and requeue failed messages.")


@outbox_group.command("status")
def status_command() -> None:
    """Print waiting, failed and expired messages, the oldest due one and the relay's state."""
    relay = relay_name(current_app.config)
    health = services.outbox_health(relay)
    click.echo(f"waiting:    {health.waiting}")
    click.echo(f"failed:     {health.failed}")
    click.echo(f"expired:    {health.expired}")
    click.echo(f"oldest due: {_local(health.oldest_due)}")
    if health.relay_down_since is None:
        click.echo(f"relay ({relay}): ok")
    else:
        click.echo(f"relay ({relay}): DOWN since {_local(health.relay_down_since)}; "
                   f"next try {_local(health.relay_next_try)}; last error: {health.relay_error}")


@outbox_group.command("retry")
@click.option("--all", "everything", is_flag=True, help="Requeue every failed message.")
@click.option("--id", "ids", type=click.IntRange(1, LARGEST_ID), multiple=True,
              help="Requeue this failed message (repeatable).")
@click.option("--since", "since", help="Requeue messages that failed since: 6h, 2d, 2026-12-01, '2026-12-01 08:00'.")
def retry_command(everything: bool, ids: tuple[int, ...], since: str | None) -> None:
    """Put messages that failed for good back in the queue, due now, with their attempts reset."""
    chosen = sum((everything, bool(ids), since is not None))
    if chosen != 1:
        raise BadArgument("choose exactly one of --all, --id N or --since WHEN")
    now = _utcnow()
    when = parse_since(since, now) if since is not None else None
    count = services.requeue_failed(OPERATOR, now, ids=list(ids) if ids else None, since=when)
    db.session.commit()
    click.echo(f"requeued {count} failed message(s)")
