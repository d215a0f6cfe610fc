"""`chainmatch policies …`: evaluate an enterprise's facts against the policy library.

A plain click group (no app context needed); the shell registers it with
`app.cli.add_command(policies_group)`. Documented in docs/policy-facts.md.
"""
from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfoNotFoundError

import click

from core.clock import shanghai_today
from policies.evaluate import evaluate
from policies.facts import FactError, parse_facts, read_facts_file
from policies.loader import library_path, load_library, verify_citations
from policies.reference import reference_markdown
from policies.rules import RuleError


def today() -> dt.date:
    """Today's date in Asia/Shanghai, where the policies' deadlines are set."""
    try:
        return shanghai_today()
    except ZoneInfoNotFoundError:  # no tz database (install tzdata): UTC+8 has no DST
        return (dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=8)).date()


class BadInput(click.ClickException):
    """Bad, oversized or too deeply nested FACTS.json or --library: message on stderr, nothing on stdout, exit
    status 2."""

    exit_code = 2


def _load(library: str | None):
    try:
        return load_library(library)
    except (OSError, RuleError) as exc:
        raise BadInput(f"policy library {library or library_path()}: {exc}") from None


def _dump(data) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2)


_library_option = click.option(
    "--library",
    type=click.Path(exists=True, dir_okay=False),
    envvar="CHAINMATCH_POLICY_LIBRARY",
    help="Policy library YAML (default: seeds/policies.yaml).",
)


@click.group("policies", help="Policy library (政策对接): evaluate facts, list policies and facts.")
def policies_group() -> None:
    pass


@policies_group.command("evaluate")
@click.argument("facts_file", metavar="FACTS.json", type=click.File("rb"))
@click.option("--on", "on", type=click.DateTime(formats=["%Y-%m-%d"]),
              help="Evaluation date YYYY-MM-DD (default: today in Asia/Shanghai).")
@_library_option
def evaluate_command(facts_file, on: dt.datetime | None, library: str | None) -> None:
    """Print, as JSON, every policy with eligible (true/false/null), amount and reasons.

    FACTS.json is one JSON object whose keys are fact names (see docs/policy-facts.md);
    unknown names are ignored; "-" reads standard input. Bad facts, a file over 1 MiB or nested over
    16 levels exit with status 2.
    """
    try:
        raw = read_facts_file(facts_file, getattr(facts_file, "name", "<stdin>"))
    except FactError as exc:
        raise BadInput(str(exc)) from None
    lib = _load(library)
    try:
        facts = parse_facts(raw, lib.facts)
    except FactError as exc:
        raise BadInput(str(exc)) from None
    result = evaluate(lib, facts, on=on.date() if on else today())
    click.echo(_dump(result.to_json()))


@policies_group.command("list")
@_library_option
def list_command(library: str | None) -> None:
    """Print the policies as JSON: id, clause, title, validity, deadlines, facts, formula."""
    lib = _load(library)
    rows = []
    for p in lib.policies:
        rows.append({
            "policy": p.id,
            "clause": p.clause.zh,
            "title": p.title.zh,
            "title_en": p.title.en,
            "source": p.source.title.zh,
            "issuer": p.issuer.zh,
            "responsible_unit": p.responsible_unit.zh,
            "valid_from": p.valid_from.isoformat() if p.valid_from else None,
            "valid_until": p.valid_until.isoformat() if p.valid_until else None,
            "deadline": None if not p.window else {
                "enterprise": p.window.enterprise_deadline.isoformat() if p.window.enterprise_deadline else None,
                "district_office": p.window.district_deadline.isoformat() if p.window.district_deadline else None,
            },
            "chains": list(p.chains),
            "regions": list(p.regions),
            "facts": list(p.facts),
            "optional_facts": list(p.optional_facts),
            "benefit": p.benefit.description.zh,
            "exclusive_group": p.exclusive_group,
        })
    click.echo(_dump(rows))


@policies_group.command("facts")
@_library_option
def facts_command(library: str | None) -> None:
    """Print the fact vocabulary as JSON: name, type, labels, allowed values (for forms)."""
    lib = _load(library)
    click.echo(_dump([spec.to_json() for spec in lib.facts.values()]))


@policies_group.command("check")
@click.option("--sources", type=click.Path(exists=True, file_okay=False), required=True,
              help="Folder holding the source documents named in the library.")
@_library_option
def check_command(sources: str, library: str | None) -> None:
    """Check the library parses and every quoted clause is verbatim in its source document."""
    lib = _load(library)
    problems = verify_citations(lib, sources)
    for problem in problems:
        click.echo(problem, err=True)
    if problems:
        raise click.ClickException(f"{len(problems)} passage(s) not verbatim")
    click.echo(f"{len(lib.policies)} policies, {len(lib.facts)} facts: all quoted passages verbatim")


@policies_group.command("reference")
@_library_option
def reference_command(library: str | None) -> None:
    """Print the policy and fact reference in Markdown (the generated part of docs/policy-facts.md)."""
    click.echo(reference_markdown(_load(library)), nl=False)
