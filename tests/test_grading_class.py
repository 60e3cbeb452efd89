"""Grading a class end to end, with the README's commands: nbgrader, then the isolated regrade.

The test makes a small course folder, releases exercise set 0 and writes a class of
submissions: five honest ones (correct; a sign error; a function that raises; a cell that
loops forever; an answer that fails only a hidden case) and twelve that try to get a grade
without the answer, or break the grading run. It autogrades them with nbgrader, regrades them
in isolated processes (``python -m dgm_course.regrade``, what ``make regrade`` runs) and
checks, for every student, the final (isolated) score, nbgrader's score and the flags.
"""
import csv
import os
import shutil
import subprocess
import sys
import time
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
WRONG_ALL = {q: f"def {q}(*args):\n    return torch.zeros(1)" for q in CORRECT}
PATCH_CHECKS = """
import dgm_course.grading, dgm_course.regrade
dgm_course.grading.check_function = lambda *a, **k: True
dgm_course.grading.compare = lambda *a, **k: None
dgm_course.regrade.check_hidden = lambda *a, **k: True
"""
PATCH_RELOAD_TOO = PATCH_CHECKS + """
import importlib
importlib.reload = lambda module: module
dgm_course.grading.run_student = lambda *a, **k: None
dgm_course.grading.check_mixture_samples = lambda *a, **k: True
"""


def _edit(nb, *, delete=(), rename=()):
    for cell in list(nb.cells):
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in delete:
            nb.cells.remove(cell)
        if grade_id in rename:
            cell.metadata["nbgrader"]["grade_id"] = f"{grade_id}_renamed"
            cell.source = "print('nothing to see here')"


# student id -> (answers that differ from CORRECT, notebook edit, final score, nbgrader score,
#                flags that must appear in the final CSV)
CLASS = {
    "ada_correct": ({}, None, 7, 7, []),
    "ben_sign_error": ({"bernoulli_log_likelihood": "def bernoulli_log_likelihood(x, probs):\n"
                        "    return -(x * torch.log(probs) + (1 - x) * torch.log(1 - probs)).sum(-1)"},
                       None, 5, 5, []),
    "cy_raises": ({"logsumexp": "def logsumexp(a):\n    raise ValueError('I give up')"}, None, 5, 5, []),
    "dee_loops_forever": ({"sample_mixture": "while True:\n    pass"}, None, 4, 4, []),
    "eve_fails_hidden": ({"logsumexp": "def logsumexp(a):\n    m = a.max()\n"
                          "    return m + torch.log(torch.exp(a - m).sum(dim=-1))"}, None, 5, 5, []),
    # the former visible test cell defined `_reference`; a submission calling it now fails
    "fay_calls_reference": ({"logsumexp": "def logsumexp(a):\n    return _reference(a)"}, None, 5, 5, []),
    "gus_forbidden_call": ({"logsumexp": "def logsumexp(a):\n    return torch.logsumexp(a, dim=-1)"},
                           None, 5, 5, ["logsumexp uses what the exercise forbids"]),
    # patches the checks; the test cells reload them from their files, so nbgrader is not fooled
    "hal_patches_checks": ({**WRONG_ALL, "logsumexp": WRONG_ALL["logsumexp"] + PATCH_CHECKS},
                           None, 0, 0, ["touches the grading machinery"]),
    # patches importlib.reload as well: nbgrader is fooled, the isolated regrade is not
    "ivy_patches_reload": ({**WRONG_ALL, "logsumexp": WRONG_ALL["logsumexp"] + PATCH_RELOAD_TOO},
                           None, 0, 7, ["scores differ", "touches the grading machinery"]),
    "jay_os_exit": ({"logsumexp": "import os\n\ndef logsumexp(a):\n    os._exit(0)"}, None, 5, None,
                    ["nbgrader failed to grade", "os._exit"]),
    "kim_swallows_interrupt": ({"sample_mixture": "def sample_mixture(means, stds, weights, n, generator):\n"
                                "    while True:\n        try:\n            pass\n"
                                "        except BaseException:\n            pass"},
                               None, 4, 4, ["catches BaseException"]),
    # nbgrader: the kernel is stuck in C, so question 3 times out behind it as well
    "lee_long_native_call": ({"bernoulli_log_likelihood": "def bernoulli_log_likelihood(x, probs):\n"
                              "    return sum(range(10**11))"}, None, 5, 2, ["scores differ"]),
    "mo_deleted_test_cell": ({}, dict(delete={"test_bernoulli_log_likelihood"}), 7, 7, []),
    # nbgrader gives up on a notebook with an unknown grade cell; the regrade does not need it
    "ned_renamed_test_cell": ({"logsumexp": WRONG_ALL["logsumexp"]}, dict(rename={"test_logsumexp"}),
                              5, None, ["nbgrader failed to grade"]),
    "oz_prints_10mb": ({"logsumexp": CORRECT["logsumexp"] + "\n\nprint('x' * 10_000_000)"}, None, 7, 7, []),
    "pat_syntax_error": ({"bernoulli_log_likelihood": "def bernoulli_log_likelihood(x, probs)\n"
                          "    return x"}, None, 5, 5, ["syntax error"]),
    "quinn_float32": ({"logsumexp": "def logsumexp(a):\n    a = a.float()\n"
                       "    m = a.max(dim=-1, keepdim=True).values\n"
                       "    return m.squeeze(-1) + torch.log(torch.exp(a - m).sum(dim=-1))",
                       "bernoulli_log_likelihood": "def bernoulli_log_likelihood(x, probs):\n"
                       "    x, probs = x.float(), probs.float()\n"
                       "    return (x * torch.log(probs) + (1 - x) * torch.log1p(-probs)).sum(-1)"},
                      None, 7, 7, []),
}


def _submission(release, answers, edit):
    nb = nbformat.read(release, as_version=4)
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            cell.source = answers[meta["grade_id"]]
    if edit:
        _edit(nb, **edit)
    return nb


@pytest.mark.slow
def test_grade_a_class_that_tries_to_cheat(tmp_path):
    for name in ("nbgrader_config.py", "solutions", "exercises"):
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, tmp_path / name)
    release = ROOT / "exercises" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    for student, (answers, edit, *_) in CLASS.items():
        folder = tmp_path / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(_submission(release, {**CORRECT, **answers}, edit), folder / f"{ASSIGNMENT}.ipynb")

    # the README's commands (with a shorter cell timeout, to keep the test short)
    env = dict(os.environ, PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]))
    nbgrader = [sys.executable, "-m", "nbgrader"]
    run = dict(cwd=tmp_path, env=env, capture_output=True, text=True)
    subprocess.run(nbgrader + ["generate_assignment", ASSIGNMENT, "--force",
                               "--CourseDirectory.release_directory=autograded/.release"], check=True, **run)
    start = time.perf_counter()
    graded = subprocess.run(nbgrader + ["autograde", ASSIGNMENT, "--Execute.timeout=15"], **run)
    nbgrader_seconds = time.perf_counter() - start
    start = time.perf_counter()
    regraded = subprocess.run([sys.executable, "-m", "dgm_course.regrade", ASSIGNMENT,
                               "--startup-seconds", "15"], check=True, **run)
    regrade_seconds = time.perf_counter() - start
    print(f"\nnbgrader autograde: {nbgrader_seconds:.0f} s, isolated regrade: {regrade_seconds:.0f} s "
          f"for {len(CLASS)} submissions")

    with open(tmp_path / "regraded" / f"{ASSIGNMENT}.csv") as f:
        rows = {row["student_id"]: row for row in csv.DictReader(f)}
    print(open(tmp_path / "regraded" / f"{ASSIGNMENT}.csv").read())
    assert set(rows) == set(CLASS), regraded.stdout[-3000:] + graded.stderr[-3000:]
    for student, (_, _, final, by_nbgrader, flags) in CLASS.items():
        row = rows[student]
        assert float(row["max_score"]) == 7.0
        assert float(row["isolated_score"]) == final, f"{student}: {row}"
        if by_nbgrader is None:
            assert row["nbgrader_score"] == "", f"{student}: {row}"
        else:
            assert float(row["nbgrader_score"]) == by_nbgrader, f"{student}: {row}"
        for flag in flags:
            assert flag in row["flags"], f"{student}: {flag!r} not in {row['flags']!r}"
        if student.startswith(("ada", "ben", "cy", "eve", "mo", "oz", "quinn")):
            assert row["flags"] == "", f"{student}: {row['flags']}"
    # a 10 MB printer makes a small graded notebook, and every notebook nbgrader could grade is there
    graded_nb = tmp_path / "autograded" / "oz_prints_10mb" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    assert graded_nb.stat().st_size < 500_000
    assert not (tmp_path / "autograded" / "jay_os_exit" / ASSIGNMENT).exists()
