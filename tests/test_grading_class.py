"""Grading a class end to end with nbgrader, as the README tells a teaching assistant to.

The test makes a small course folder, releases exercise set 0, writes five submissions
(correct; a sign error; a function that raises; a cell that loops forever; an answer that
passes the visible tests but not the hidden ones), autogrades them with a short per-cell
timeout and checks every score in the exported CSV gradebook.
"""
import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = "00_introduction"

CORRECT = {
    "logsumexp": "def logsumexp(a):\n    m = a.max(dim=-1, keepdim=True).values\n"
                 "    return m.squeeze(-1) + torch.log(torch.exp(a - m).sum(dim=-1))",
    "bernoulli_log_likelihood": "def bernoulli_log_likelihood(x, probs):\n"
                                "    return (x * torch.log(probs) + (1 - x) * torch.log(1 - probs)).sum(-1)",
    "sample_mixture": "def sample_mixture(means, stds, weights, n, generator):\n"
                      "    k = torch.multinomial(weights, n, replacement=True, generator=generator)\n"
                      "    return means[k] + stds[k, None] * torch.randn(n, 2, generator=generator)",
}
SUBMISSIONS = {  # student id -> (answers that differ from CORRECT, expected score out of 7)
    "ada_correct": ({}, 7.0),
    "ben_sign_error": ({"bernoulli_log_likelihood": "def bernoulli_log_likelihood(x, probs):\n"
                        "    return -(x * torch.log(probs) + (1 - x) * torch.log(1 - probs)).sum(-1)"}, 5.0),
    "cy_raises": ({"logsumexp": "def logsumexp(a):\n    raise ValueError('I give up')"}, 5.0),
    "dee_loops_forever": ({"sample_mixture": "while True:\n    pass"}, 4.0),
    "eve_fails_hidden": ({"logsumexp": "def logsumexp(a):\n    m = a.max()\n"
                          "    return m + torch.log(torch.exp(a - m).sum(dim=-1))"}, 5.0),
}


def _submission(release, answers):
    nb = nbformat.read(release, as_version=4)
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            cell.source = answers[meta["grade_id"]]
    return nb


@pytest.mark.slow
def test_autograde_a_class(tmp_path):
    for name in ("nbgrader_config.py", "solutions"):
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, tmp_path / name)
    release = ROOT / "exercises" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    for student, (wrong, _) in SUBMISSIONS.items():
        folder = tmp_path / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(_submission(release, {**CORRECT, **wrong}), folder / f"{ASSIGNMENT}.ipynb")

    env = dict(os.environ, PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]))
    nbgrader = [sys.executable, "-m", "nbgrader"]
    run = dict(cwd=tmp_path, env=env, check=True, capture_output=True, text=True)
    subprocess.run(nbgrader + ["generate_assignment", ASSIGNMENT, "--force",
                               "--CourseDirectory.release_directory=release"], **run)
    graded = subprocess.run(nbgrader + ["autograde", ASSIGNMENT, "--Execute.timeout=20"], **run)
    subprocess.run(nbgrader + ["export", "--to", "grades.csv"], **run)

    with open(tmp_path / "grades.csv") as f:
        rows = {row["student_id"]: row for row in csv.DictReader(f)}
    assert set(rows) == set(SUBMISSIONS), graded.stderr[-2000:]
    for student, (_, expected) in SUBMISSIONS.items():
        assert float(rows[student]["max_score"]) == 7.0
        assert float(rows[student]["score"]) == expected, f"{student}: {rows[student]}"
    # the looping cell was stopped by the timeout, and the run went on to the other students
    assert "Timeout" in graded.stderr or "timeout" in graded.stderr.lower()
