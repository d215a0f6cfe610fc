"""tests/outside_files_plugin.py in a run of its own: a marked test that skips is named in the summary, fails
under CHAINMATCH_REQUIRE_SOURCE_DOCUMENTS=1, and runs when the files are there (the real `sources` fixture)."""
import pytest

pytest_plugins = ["pytester"]

REQUIRED = "CHAINMATCH_REQUIRE_SOURCE_DOCUMENTS"
# Hypothesis's summary hook takes two seconds a run and has nothing to say about these.
INNER_OPTIONS = ("-p", "no:cacheprovider", "-p", "no:hypothesispytest")
CONFTEST = 'pytest_plugins = ["tests.outside_files_plugin"]\nfrom tests.policies.conftest import sources  # noqa: F401\n'


@pytest.fixture
def run(pytester, monkeypatch):
    """run(documents) -> the inner run's result; documents is the folder CHAINMATCH_SOURCE_DOCUMENTS names."""
    pytester.makeini("[pytest]\nmarkers =\n    outside_files: needs files outside the repository\n")
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_documents="""
        import pytest

        @pytest.mark.outside_files
        def test_reads_the_documents(sources):
            assert sources.is_dir()

        def test_needs_nothing():
            pass
    """)

    def inner(documents):
        monkeypatch.setenv("CHAINMATCH_SOURCE_DOCUMENTS", str(documents))
        return pytester.runpytest(*INNER_OPTIONS)

    return inner


def test_a_skip_is_named_in_the_summary(run, tmp_path, monkeypatch):
    monkeypatch.delenv(REQUIRED, raising=False)
    result = run(tmp_path / "absent")
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines([
        "*= files outside the repository =*",
        "1 test skipped: they need files outside the repository",
        f"  needs the source documents in {tmp_path / 'absent'} *",
        "    test_documents.py::test_reads_the_documents",
    ])
    assert result.ret == pytest.ExitCode.OK


def test_a_skip_fails_the_run_when_the_documents_are_required(run, tmp_path, monkeypatch):
    monkeypatch.setenv(REQUIRED, "1")
    result = run(tmp_path / "absent")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines([
        f"{REQUIRED}=1: these files must be present, so the test may not skip",
        f"1 test failed ({REQUIRED}=1): they need files outside the repository",
        "    test_documents.py::test_reads_the_documents",
    ])
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_present_documents_run_the_test(run, tmp_path, monkeypatch):
    monkeypatch.setenv(REQUIRED, "1")
    (tmp_path / "documents").mkdir()
    result = run(tmp_path / "documents")
    result.assert_outcomes(passed=2)
    result.stdout.no_fnmatch_line("*files outside the repository*")
    assert result.ret == pytest.ExitCode.OK


def test_a_test_that_uses_the_documents_carries_the_marker(pytester, tmp_path, monkeypatch):
    monkeypatch.setenv("CHAINMATCH_SOURCE_DOCUMENTS", str(tmp_path))
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile("def test_unmarked(sources):\n    pass\n")
    result = pytester.runpytest(*INNER_OPTIONS)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*a test that uses `sources` carries @pytest.mark.outside_files*"])
