"""The `chainmatch` command: Flask's CLI group (run, shell, db ...) plus our own commands."""
import click
from flask.cli import FlaskGroup

from chainmatch import create_app
from chainmatch.demo import demo_command
from chainmatch.match_commands import bench_group, match_command
from chainmatch.scheduler import scheduler_command
from notifications.commands import outbox_group
from policies.commands import policies_group
from seeds.commands import seed_command


def _create_app():
    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_version_option=False)
def cli():
    """chainmatch — 一月一链 · 益企畅融 platform."""


for command in (demo_command, seed_command, match_command, bench_group, policies_group, outbox_group,
                scheduler_command):
    cli.add_command(command)
