"""Shared fixtures: executing an exercise notebook with chosen answers.

``run_exercise(path, {question_id: source})`` runs an nbgrader source or release notebook in
a fresh kernel, with the named solution cells replaced by ``source``, and reports for every
autograder test cell whether it passed and what it said. The exercise tests use it to show
that the untouched stubs fail and the solutions pass, executed as a student would.
"""
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Outcome:
    passed: bool
    message: str  # the CheckFailed message (or "ExceptionName: message") if it failed, else what it printed


def _nbgrader(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


def execute_exercise(path, replacements=None, timeout=120):
    """Execute the notebook at ``path`` (relative to the repo root) with solution cells replaced.

    Returns ``{grade_id: Outcome}`` for each autograder test cell.
    """
    path = ROOT / path
    nb = nbformat.read(path, as_version=4)
    replacements = dict(replacements or {})
    solution_ids = {_nbgrader(c).get("grade_id") for c in nb.cells if _nbgrader(c).get("solution")}
    unknown = set(replacements) - solution_ids
    if unknown:
        raise KeyError(f"no solution cell {sorted(unknown)} in {path.name}; it has {sorted(solution_ids)}")
    for cell in nb.cells:
        grade_id = _nbgrader(cell).get("grade_id")
        if _nbgrader(cell).get("solution") and grade_id in replacements:
            cell.source = replacements[grade_id]
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    outcomes = {}
    for cell in nb.cells:
        meta = _nbgrader(cell)
        if cell.cell_type != "code" or not meta.get("grade") or meta.get("solution"):
            continue
        errors = [o for o in cell.outputs if o.output_type == "error"]
        if errors:
            err = errors[0]
            message = err.evalue if err.ename == "CheckFailed" else f"{err.ename}: {err.evalue}"
            outcomes[meta["grade_id"]] = Outcome(False, message)
        else:
            text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
            outcomes[meta["grade_id"]] = Outcome(True, text)
    return outcomes


@pytest.fixture(scope="session")
def run_exercise():
    """The function :func:`execute_exercise`, as a fixture."""
    return execute_exercise



@pytest.fixture(autouse=True)
def _restore_grading_modules():
    """Exercise test cells reload ``dgm_course.grading`` and ``dgm_course.regrade`` (so that a
    patched checker is replaced), which rebinds their classes inside the module. Put the
    modules' names back after each test, so that tests run later in the same process compare
    with the classes they imported (``CheckFailed``, ``Case``)."""
    import dgm_course.grading as grading
    import dgm_course.regrade as regrade

    saved = [(module, dict(vars(module))) for module in (grading, regrade)]
    yield
    for module, names in saved:
        vars(module).clear()
        vars(module).update(names)
