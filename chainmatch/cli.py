"""The `chainmatch` command: Flask's CLI group (run, shell, db ...) plus our own commands."""
import click
from flask.cli import FlaskGroup

from chainmatch import create_app


def _create_app():
    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_version_option=False)
def cli():
    """chainmatch — 一月一链 · 益企畅融 platform."""


def _register_commands() -> None:
    from chainmatch.demo import demo_command
    cli.add_command(demo_command)
    for module_name, attribute in (("seeds.commands", "seed_command"),
                                   ("chainmatch.match_commands", "match_command"),
                                   ("chainmatch.match_commands", "bench_group"),
                                   ("policies.commands", "policies_group"),
                                   ("notifications.commands", "outbox_group"),
                                   ("chainmatch.scheduler", "scheduler_command")):
        try:
            module = __import__(module_name, fromlist=[attribute])
        except ModuleNotFoundError as error:
            if not module_name.startswith(error.name or "?"):
                raise
            continue
        cli.add_command(getattr(module, attribute))


_register_commands()
