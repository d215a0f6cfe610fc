"""Click commands for the matchmaking engine: `chainmatch match` and `chainmatch bench match`.

Registered by the CLI group with `cli.add_command(match_command)` and
`cli.add_command(bench_group)`; also runnable as `python -m chainmatch.match_commands`.
"""
from __future__ import annotations

import json

import click

from matchmaking import (
    InputError,
    bench,
    dumps_plan,
    instance_from_dict,
    load_instance,
    plan_meetings,
    write_atomic,
)
from matchmaking.jsonio import loads_document, read_bounded

BENCH_SIZES = ("tiny", "small", "event", "national")


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    raise SystemExit(2)


@click.command("match")
@click.argument("input_path", metavar="INPUT")
@click.option("-o", "--output", metavar="PLAN.json",
              help="Write the plan here (atomically) instead of to standard output.")
def match_command(input_path: str, output: str | None) -> None:
    """Plan meetings for the instance in INPUT (a JSON file, or - for standard input).

    The format and its limits are in docs/match-format.md. Bad or oversized input exits with
    status 2, names the record and field on standard error, and writes nothing.
    """
    try:
        if input_path == "-":
            stdin = click.get_binary_stream("stdin")
            instance = instance_from_dict(loads_document(read_bounded(stdin), "<stdin>"))
        else:
            instance = load_instance(input_path)
        plan = plan_meetings(instance)
    except InputError as exc:
        _fail(str(exc))
    text = dumps_plan(plan)
    if output is None or output == "-":
        click.echo(text)
        return
    try:
        write_atomic(output, text)
    except OSError as exc:
        click.echo(f"error: cannot write {output}: {exc.strerror}", err=True)
        raise SystemExit(1) from None
    stats = plan.stats
    click.echo(f"{stats['meetings']} meetings for {stats['covered_enterprises']} of "
               f"{stats['enterprises']} enterprises written to {output}", err=True)


@click.group("bench")
def bench_group() -> None:
    """Benchmarks."""


def _sizes(values: tuple[str, ...]) -> list[str]:
    sizes: list[str] = []
    for value in values:
        for name in value.split(","):
            name = name.strip()
            if not name:
                continue
            if name == "all":
                wanted = ["small", "event", "national"]
            elif name in BENCH_SIZES:
                wanted = [name]
            else:
                raise click.BadParameter(f"{name!r} is not one of {', '.join(BENCH_SIZES)}, all",
                                         param_hint="--size")
            sizes.extend(s for s in wanted if s not in sizes)
    return sizes


@bench_group.command("match")
@click.option("--size", "--sizes", "size_values", multiple=True, default=("small,event",),
              show_default=True, metavar="SIZE[,SIZE]",
              help="small (1,000 × 100 × 12), event (10,000 × 500 × 16), national "
                   "(100,000 × 2,000 × 24), all, or tiny; repeatable or comma-separated.")
@click.option("--seed", default=1, show_default=True, type=click.IntRange(0, 2**32 - 1),
              help="Seed of the generated instances.")
@click.option("--keep", metavar="DIR", help="Keep generated inputs and plans in DIR.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON lines.")
def bench_match(size_values: tuple[str, ...], seed: int, keep: str | None,
                as_json: bool) -> None:
    """Time `match` end to end (read JSON → plan written) on generated instances.

    Prints per size: wall time, peak RSS, enterprises covered against the max-flow bound,
    meetings, and total score against a first-come-first-served baseline.
    """
    for size in _sizes(size_values):
        row = bench.run([size], seed=seed, keep=keep)[0]
        click.echo(json.dumps(row, ensure_ascii=False) if as_json else bench.format_row(row))


if __name__ == "__main__":
    @click.group()
    def _main() -> None:
        """chainmatch matchmaking commands."""

    _main.add_command(match_command)
    _main.add_command(bench_group)
    _main()
