"""`chainmatch policies evaluate FACTS.json [--on DATE]` and friends, through click's CliRunner."""
import datetime as dt
import json

import pytest
from click.testing import CliRunner

from policies import commands
from policies.commands import policies_group

EXAMPLE = {
    "compute_contract_fee": 30000000,
    "compute_use": "domestic_compute",
    "is_foundation_model_enterprise": False,
    "project_total_investment": 80000000,
    "in_government_layout": True,
    "loan_principal": 100000000,
    "loan_rate": 0.035,
    "is_manufacturing": True,
    "tiers": ["little_giant"],
    "project_started_on": "2024-03-01",
    "actual_investment": 6000000,
    "some_other_key": "ignored",
}


@pytest.fixture
def runner():
    return CliRunner()


def run(runner, facts, *args, raw=None):
    with runner.isolated_filesystem():
        with open("facts.json", "w", encoding="utf-8") as handle:
            handle.write(raw if raw is not None else json.dumps(facts))
        return runner.invoke(policies_group, ["evaluate", "facts.json", *args])


def rows(result):
    return {row["policy"]: row for row in json.loads(result.stdout)}


def test_evaluate_prints_the_contract(runner):
    result = run(runner, EXAMPLE, "--on", "2025-06-01")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert isinstance(data, list) and len(data) == 25
    for row in data:
        assert {"policy", "clause", "eligible", "amount", "reasons"} <= set(row)
        assert row["eligible"] in (True, False, None)
        assert row["amount"] is None or isinstance(row["amount"], int)
        assert all(isinstance(r, str) for r in row["reasons"])
        assert len(row["reasons_en"]) == len(row["reasons"])
    by_id = rows(result)
    assert by_id["compute_voucher"]["clause"] == "第(三)条"
    assert (by_id["compute_voucher"]["eligible"], by_id["compute_voucher"]["amount"]) == (True, 8_000_000)
    assert by_id["compute_voucher"]["bound_by"] == ["annual_cap"]
    assert (by_id["compute_interest_subsidy"]["eligible"], by_id["compute_interest_subsidy"]["amount"]) == (True, 1_500_000)
    # 2025: the 2024 first batch closed on 2024-05-30
    assert by_id["tech_upgrade"]["eligible"] is False
    assert by_id["tech_upgrade"]["conditions_met"] is True
    # missing facts → null, and the CLI names them
    assert by_id["model_filing_award"]["eligible"] is None
    assert by_id["model_filing_award"]["missing_facts"] == [
        "model_filed_with_cac", "model_filing_award_received", "model_evaluation_fees"]


def test_evaluate_on_a_notice_day(runner):
    by_id = rows(run(runner, EXAMPLE, "--on", "2024-05-20"))
    assert by_id["tech_upgrade"]["eligible"] is True
    assert by_id["tech_upgrade"]["amount"] is None
    assert any("通知未列明补助比例" in r for r in by_id["tech_upgrade"]["reasons"])
    assert by_id["tech_upgrade"]["deadline"] == {"enterprise": "2024-05-30", "district_office": "2024-06-10"}
    assert by_id["compute_voucher"]["eligible"] is False  # the AI measures start on 2024-08-19
    assert any("2024-08-19" in r for r in by_id["compute_voucher"]["reasons"])


def test_default_date_is_today_in_shanghai(runner, monkeypatch):
    monkeypatch.setattr(commands, "today", lambda: dt.date(2024, 5, 20))
    assert rows(run(runner, EXAMPLE))["tech_upgrade"]["eligible"] is True
    monkeypatch.setattr(commands, "today", lambda: dt.date(2026, 1, 1))
    assert rows(run(runner, EXAMPLE))["tech_upgrade"]["eligible"] is False


def test_json_numbers_are_exact(runner):
    # 0.0203 × 6,000,000 × 50% = 60,900 exactly; in binary floating point it is 60,899.999…
    facts = {"in_government_layout": True, "project_total_investment": 50000000,
             "loan_principal": 6000000, "loan_rate": 0.0203}
    row = rows(run(runner, facts, "--on", "2025-06-01"))["compute_interest_subsidy"]
    assert (row["eligible"], row["amount"], row["bound_by"]) == (True, 60_900, ["half_interest"])


def test_empty_facts_all_null_or_false(runner):
    data = json.loads(run(runner, {}, "--on", "2025-06-01").stdout)
    assert {row["eligible"] for row in data} <= {None, False}
    assert all(row["amount"] is None for row in data)


@pytest.mark.parametrize(
    "facts, raw, message",
    [
        ({"compute_contract_fee": -5}, None, "compute_contract_fee: must be a non-negative amount in yuan, got -5"),
        ({"project_started_on": "2024-02-30"}, None, "project_started_on: must be a date"),
        ({"project_started_on": "not a date"}, None, "project_started_on"),
        ({"compute_use": "gpu"}, None, "compute_use: must be one of"),
        ({"loan_principal": "a lot"}, None, "loan_principal"),
        ({"tiers": ["unicorn"]}, None, "tiers"),
        ({"loan_rate": 3.5}, None, "loan_rate"),
        (None, '{"compute_contract_fee": NaN}', "compute_contract_fee"),
        (None, "[1, 2]", "one JSON object"),
        (None, "{not json", "not valid JSON"),
    ],
)
def test_bad_facts_exit_2_and_name_the_fact(runner, facts, raw, message):
    result = run(runner, facts, "--on", "2025-06-01", raw=raw)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert message in result.stderr


def test_bad_date_option(runner):
    result = run(runner, EXAMPLE, "--on", "2025-02-30")
    assert result.exit_code == 2
    assert result.stdout == ""


def test_missing_file(runner):
    result = runner.invoke(policies_group, ["evaluate", "no-such-file.json"])
    assert result.exit_code == 2


def test_stdin(runner):
    result = runner.invoke(policies_group, ["evaluate", "-", "--on", "2025-06-01"], input=json.dumps(EXAMPLE))
    assert result.exit_code == 0
    assert rows(result)["compute_voucher"]["amount"] == 8_000_000


def test_list_and_facts(runner):
    listed = json.loads(runner.invoke(policies_group, ["list"]).stdout)
    assert [r["policy"] for r in listed][:3] == ["compute_rd_funding", "compute_interest_subsidy", "compute_voucher"]
    facts = json.loads(runner.invoke(policies_group, ["facts"]).stdout)
    names = [f["name"] for f in facts]
    assert "compute_use" in names and "tiers" in names


@pytest.mark.outside_files
def test_check(runner, sources):
    result = runner.invoke(policies_group, ["check", "--sources", str(sources)])
    assert result.exit_code == 0, result.output
    assert "verbatim" in result.stdout


def test_group_name():
    assert policies_group.name == "policies"
    assert set(policies_group.commands) >= {"evaluate", "list", "facts", "check", "reference"}


def test_documented_example_is_what_the_cli_prints(runner):
    import re
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "policy-facts.md").read_text(encoding="utf-8")
    example = doc[doc.index("## Example"):]
    blocks = re.findall(r"```json\n(.*?)\n```", example, re.S)
    facts, excerpt = json.loads(blocks[0]), json.loads(blocks[1])
    printed = rows(run(runner, facts, "--on", "2025-06-01"))
    for row in excerpt:
        assert {k: printed[row["policy"]][k] for k in row} == row
    later = json.loads(blocks[2])[0]
    printed_2024 = rows(run(runner, facts, "--on", "2024-05-20"))[later["policy"]]
    assert {k: printed_2024[k] for k in later} == later


@pytest.mark.parametrize(
    "raw, message",
    [
        ("[" * 100_000, "nests arrays and objects more than 16 levels deep"),
        ('{"tiers": ' + "[" * 500 + "]" * 500 + "}", "more than 16 levels deep"),
        ('{"loan_principal": ' + "9" * 5000 + "}", "a number has too many digits"),
        ('{"loan_principal": 1e27}', "loan_principal: must be a non-negative amount in yuan"),
        ('{"years_in_operation": 1e400}', "years_in_operation"),
        ('{"purpose": "' + "x" * (1024 * 1024) + '"}', "more than 1,048,576 bytes"),
    ],
    ids=["deep", "deep-value", "digits", "1e27", "1e400", "size"],
)
def test_absurd_facts_exit_2_without_a_traceback(runner, raw, message):
    result = run(runner, None, "--on", "2025-06-01", raw=raw)
    assert result.exit_code == 2, result.output
    assert result.exception.__class__ is SystemExit
    assert message in result.stderr, result.stderr
    if not message.startswith(("loan_", "years_")):  # about the file, not one fact
        assert "facts.json: " in result.stderr
    assert result.stdout == "" and len(result.stderr) < 400


def test_deep_facts_on_standard_input(runner):
    result = runner.invoke(policies_group, ["evaluate", "-"], input="[" * 100_000)
    assert result.exit_code == 2 and "<stdin>: nests" in result.stderr


def _laughs() -> str:
    lines = ['l0: &l0 ["x","x","x","x","x","x","x","x","x","x"]']
    lines += [f"l{i}: &l{i} [" + ",".join([f"*l{i - 1}"] * 10) + "]" for i in range(1, 9)]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    "library, message",
    [
        ("facts: " + "[" * 100_000, "nests more than 64 levels deep"),
        ("facts: " + "[" * 100_000 + "]" * 100_000, "nests more than 64 levels deep"),
        (_laughs(), "more than 1,000,000 nodes with its aliases expanded"),
        ("facts: [1, 2\n", "not valid YAML"),
        ("# " + "x" * (2 * 1024 * 1024), "more than 2,097,152 bytes"),
    ],
    ids=["deep-open", "deep", "billion-laughs", "not-yaml", "size"],
)
def test_absurd_library_exits_2_in_every_command(runner, library, message):
    with runner.isolated_filesystem():
        with open("lib.yaml", "w", encoding="utf-8") as handle:
            handle.write(library)
        with open("facts.json", "w", encoding="utf-8") as handle:
            handle.write("{}")
        for args in (["list"], ["facts"], ["evaluate", "facts.json"]):
            result = runner.invoke(policies_group, [*args, "--library", "lib.yaml"])
            assert result.exit_code == 2, (args, result.output)
            assert "policy library lib.yaml: " + message in result.stderr, result.stderr


HOSTILE = ["NaN", "Infinity", "-Infinity", "1e999999999", "-1e999999999", "1e27", "1" + "0" * 40, str(2**63),
           "-1", "0.001", "true", '""', '"\\u0000"', '"' + "x" * 5_000 + '"', "[]", "{}", "[" * 15 + "]" * 15,
           "[" * 20 + "]" * 20, '["\\u0000", 1e400]', '"2024-13-45"']


def test_hostile_values_for_every_fact_exit_0_or_2(runner, monkeypatch):
    from policies.loader import load_library
    library = load_library()
    monkeypatch.setattr(commands, "load_library", lambda path=None: library)  # read once, not per run
    failures = []
    for name in library.facts:
        for literal in HOSTILE:
            result = run(runner, None, "--on", "2025-06-01", raw=f'{{"{name}": {literal}}}')
            if result.exit_code not in (0, 2) or result.exception.__class__ not in (type(None), SystemExit):
                failures.append((name, literal[:20], result.exit_code, repr(result.exception)[:120]))
            elif result.exit_code == 2 and not result.stderr.startswith(("Error: facts.json: ", f"Error: {name}: ")):
                failures.append((name, literal[:20], "message", result.stderr[:120]))
    assert not failures, failures
