"""Tests marked `outside_files` need files outside the repository: the run's summary lists those that skipped,
and with CHAINMATCH_REQUIRE_SOURCE_DOCUMENTS=1 (CI, where the files are present) such a skip is a failure.

A test carries the marker only when it skips for want of those files, never for another reason.
"""
import os

import pytest

MARKER = "outside_files"
REQUIRED = "CHAINMATCH_REQUIRE_SOURCE_DOCUMENTS"


def pytest_configure(config):
    config.pluginmanager.register(OutsideFiles(required=os.environ.get(REQUIRED) == "1"), "outside-files")


def _reason(report) -> str:
    """The skip's reason, as -ra prints it."""
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
    return reason.removeprefix("Skipped: ")


class OutsideFiles:
    """Collects the marked tests that skipped (one line per reason in the summary); fails them when required."""

    def __init__(self, required: bool):
        self.required = required
        self.missing: dict[str, list[str]] = {}

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        if not report.skipped or item.get_closest_marker(MARKER) is None:
            return
        reason = _reason(report)
        self.missing.setdefault(reason, []).append(item.nodeid)
        if self.required:
            report.outcome = "failed"
            report.longrepr = f"{reason}\n{REQUIRED}=1: these files must be present, so the test may not skip"

    def pytest_terminal_summary(self, terminalreporter):
        if not self.missing:
            return
        count = sum(len(nodeids) for nodeids in self.missing.values())
        verb = f"failed ({REQUIRED}=1)" if self.required else "skipped"
        terminalreporter.section("files outside the repository")
        terminalreporter.line(f"{count} test{'s' if count != 1 else ''} {verb}: they need files outside the repository")
        for reason, nodeids in self.missing.items():
            terminalreporter.line(f"  {reason}:")
            for nodeid in nodeids:
                terminalreporter.line(f"    {nodeid}")
