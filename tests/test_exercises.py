"""Every exercise set: the release is what nbgrader generates, holds no solutions, and its
untouched stubs fail every check with the "not implemented yet" message."""
import json
from pathlib import Path

import nbformat
import pytest

from dgm_course.grading import CheckFailed  # noqa: F401  (the notebooks raise it)

ROOT = Path(__file__).resolve().parents[1]
SETS = sorted(p.name for p in (ROOT / "solutions").iterdir() if p.is_dir() and any(p.glob("*.ipynb")))


def _release_script():
    import importlib.util

    spec = importlib.util.spec_from_file_location("release_exercises", ROOT / "scripts" / "release_exercises.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    return _release_script().release(tmp_path_factory.mktemp("release"))


def test_every_solution_set_has_a_release():
    assert SETS, "no exercise sets under solutions/"
    released = sorted(p.name for p in (ROOT / "exercises").iterdir() if p.is_dir())
    assert released == SETS


@pytest.mark.slow
@pytest.mark.parametrize("name", SETS)
def test_committed_release_is_what_nbgrader_generates(name, regenerated):
    committed = json.loads((ROOT / "exercises" / name / f"{name}.ipynb").read_text())
    fresh = json.loads((regenerated / name / f"{name}.ipynb").read_text())
    assert committed == fresh, f"exercises/{name} is stale: run `make exercises` and commit the result"


@pytest.mark.parametrize("name", SETS)
def test_release_holds_no_solution_or_hidden_test(name):
    text = (ROOT / "exercises" / name / f"{name}.ipynb").read_text()
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"):
        assert marker not in text
    source = nbformat.read(ROOT / "solutions" / name / f"{name}.ipynb", as_version=4)
    assert any("BEGIN HIDDEN TESTS" in c.source for c in source.cells), f"{name} has no hidden tests"


@pytest.mark.parametrize("name", SETS)
def test_source_is_stored_without_outputs(name):
    source = nbformat.read(ROOT / "solutions" / name / f"{name}.ipynb", as_version=4)
    assert all(not c.get("outputs") for c in source.cells if c.cell_type == "code")


@pytest.mark.slow
@pytest.mark.parametrize("name", SETS)
def test_untouched_stubs_fail_every_check(name, run_exercise):
    outcomes = run_exercise(f"exercises/{name}/{name}.ipynb")
    assert outcomes, f"{name} has no autograder test cells"
    for grade_id, outcome in outcomes.items():
        assert not outcome.passed, f"{grade_id} passes on the untouched stub"
        assert "is not implemented yet" in outcome.message, f"{grade_id}: {outcome.message}"


@pytest.mark.slow
@pytest.mark.parametrize("name", SETS)
def test_solutions_pass_every_check(name, run_exercise):
    outcomes = run_exercise(f"solutions/{name}/{name}.ipynb")
    failed = {k: o.message for k, o in outcomes.items() if not o.passed}
    assert not failed
    assert all("✓" in o.message for o in outcomes.values())
