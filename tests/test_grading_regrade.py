"""The isolated regrade: extracting answers, scanning them, running them in a limited process."""
import time
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch

from dgm_course.regrade import (Case, Hint, Limits, Param, Question, Seed, ast_forbidden,
                                extract_answers, grade_submission, judge, load_spec,
                                machinery_flags, run_isolated)

ROOT = Path(__file__).resolve().parents[1]
SETS = sorted(p.name for p in (ROOT / "solutions").iterdir()
              if p.is_dir() and any(p.glob("*.ipynb")))


def _nb(*cells, release=False):
    """A notebook: ("setup"|"answer"|"test", source) cells, nbgrader metadata as a release has it."""
    nb = nbformat.v4.new_notebook()
    for kind, source in cells:
        cell = nbformat.v4.new_code_cell(source)
        if kind == "answer":
            cell.metadata["nbgrader"] = {"grade_id": "f", "solution": True, "grade": False}
        elif kind == "test":
            cell.metadata["nbgrader"] = {"grade_id": "test_f", "solution": False, "grade": True, "points": 1}
        nb.cells.append(cell)
    return nb


RELEASE = _nb(("setup", "import torch"), ("answer", "def f(x):\n    raise NotImplementedError()"),
              ("test", "check(f)"))


def test_answers_keep_definitions_and_drop_top_level_calls():
    submission = _nb(("setup", "import torch"),
                     ("answer", "import os\n%time 1\nN = 3\n\ndef f(x):\n    return g(x) * N\n\n"
                                "while True:\n    pass\nos._exit(0)\nprint('x' * 10**7)"),
                     ("answer", "def g(x):\n    return x"),
                     ("answer", "def h(x)\n    return x"),
                     ("test", "check(f)"))
    answers = extract_answers(submission, RELEASE)
    assert answers.preamble == ["import torch"]
    assert answers.statements == ["import os", "N = 3", "def f(x):\n    return g(x) * N", "def g(x):\n    return x"]
    assert answers.syntax_errors == ["cell 4: expected ':' (line 1)"]


def test_a_renamed_or_edited_test_cell_is_not_an_answer():
    submission = _nb(("setup", "import torch"), ("answer", "def f(x):\n    return x"), ("setup", "check(f)"))
    submission.cells[2].metadata["nbgrader"] = {"grade_id": "renamed", "grade": True, "solution": False}
    answers = extract_answers(submission, RELEASE)
    assert answers.statements == ["def f(x):\n    return x"]


def _tree(source):
    return extract_answers(_nb(("answer", source)), _nb()).tree


@pytest.mark.parametrize("source, forbidden, found", [
    ("def f(a):\n    return torch.logsumexp(a, -1)", ("logsumexp",), ["logsumexp"]),
    ("def f(a):\n    return a.logsumexp(-1)", ("logsumexp",), ["logsumexp"]),
    ("from scipy.special import logsumexp as lse\ndef f(a):\n    return lse(a)", ("scipy.special",),
     ["scipy.special"]),
    ("import sklearn.decomposition as skd\ndef g(X):\n    return skd.PCA(2).fit(X)\ndef f(X):\n    return g(X)",
     ("sklearn",), ["sklearn"]),
    ("def f(a):\n    from dgm_course import rbm\n    return rbm.RBM", ("dgm_course.rbm",), ["dgm_course.rbm"]),
    ("import torch\ndef logsumexp(a):\n    m = a.max()\n    return m + torch.log(torch.exp(a - m).sum())\n"
     "def f(a):\n    return logsumexp(a)", ("logsumexp", "scipy.special"), []),
    ("import sklearn\ndef f(a):\n    return a", ("sklearn",), []),     # imported but not used by f
])
def test_forbidden_calls_are_found_on_the_syntax_tree(source, forbidden, found):
    assert ast_forbidden(_tree(source), "f", forbidden) == found


def test_code_touching_the_grading_machinery_is_flagged():
    source = ("import os, sys, importlib\nimport dgm_course.grading as G\nG.check_function = None\n"
              "importlib.reload = lambda m: m\nsys.modules['x'] = None\n"
              "def f(x):\n    try:\n        os._exit(0)\n    except BaseException:\n        pass\n")
    tree = extract_answers(_nb(("answer", source)), _nb()).all_code
    flags = " | ".join(machinery_flags(tree))
    for expected in ("imports dgm_course.grading", "check_function", "importlib", "sys.modules", "os._exit",
                     "catches BaseException"):
        assert expected in flags, flags
    assert machinery_flags(_tree("import torch\ndef f(x):\n    return torch.exp(x)")) == []
    # a local variable that shares a module's name is not that module; the module is
    local = "def f(x):\n    signal = x - 1\n    return signal.mean()"
    assert machinery_flags(_tree(local)) == []
    module = "import signal\ndef f(x):\n    signal.alarm(0)\n    return x"
    flags = machinery_flags(_tree(module))
    assert "imports signal" in flags and "uses signal.alarm" in flags


@pytest.mark.parametrize("source, expected", [
    # the instructor's hidden_cases.py read from disk, beside the installed library
    ("import runpy, dgm_course\nfrom pathlib import Path\n"
     "REF = runpy.run_path(str(Path(dgm_course.__file__).parents[1] / 'solutions'))\n"
     "def f(a):\n    return REF['_logsumexp'](a)", ("imports runpy", "imports pathlib.Path")),
    ("def f(a):\n    text = open('/course/solutions/00/hidden_cases.py').read()\n    return a",
     ("uses open",)),
    # a forbidden function looked up by a computed name
    ("import torch\ndef f(a):\n    return getattr(torch, 'log' + 'sumexp')(a, 0)",
     ("uses getattr",)),
])
def test_reading_files_and_computed_lookups_are_flagged(source, expected):
    flags = " | ".join(machinery_flags(_tree(source)))
    for what in expected:
        assert what in flags, flags


DOUBLE = Question("f", points=1, reference=lambda x: 2 * x, unchanged=True, timeout=5.0,
                  hints=(Hint(lambda x: -2 * x, "check the sign"),),
                  visible=[Case((torch.tensor([1.0, 2.0]),), description="x = (1, 2)")],
                  hidden=[Case((np.array([3.0]),), description="an array")])


def test_judge_compares_with_hints_and_reports_what_went_wrong():
    assert judge(DOUBLE, [torch.tensor([2.0, 4.0]), np.array([6.0])]) is None
    assert "Hint: check the sign" in judge(DOUBLE, [torch.tensor([-2.0, -4.0]), np.array([6.0])])
    assert "returned None" in judge(DOUBLE, [None, None])
    assert "the result should be a torch.Tensor" in judge(DOUBLE, [[2.0, 4.0], np.array([6.0])])
    assert "raised ValueError" in judge(DOUBLE, [None, None], ["your function raised ValueError: x", None])


def _run(source, question=DOUBLE, **limits):
    answers = extract_answers(_nb(("setup", "import torch\nimport numpy as np"), ("answer", source)), RELEASE)
    start = time.perf_counter()
    outputs, statuses = run_isolated(question, answers, limits=Limits(**{"startup_seconds": 20, **limits}))
    return judge(question, outputs, statuses), time.perf_counter() - start


@pytest.mark.slow
@pytest.mark.parametrize("source, problem", [
    ("def f(x):\n    return 2 * x", None),
    ("def f(x):\n    return -2 * x", "Hint: check the sign"),
    ("def f(x):\n    x *= 2\n    return x", "changed its input `x` in place"),
    ("def f(x):\n    raise NotImplementedError()", "not implemented yet"),
    ("def f(x):\n    import os\n    os._exit(0)", "the process ended before answering"),
    ("def f(x):\n    return object()", "yours is a object"),
    ("import pickle\ndef f(x):\n    return pickle.dumps(x)", "yours is a bytes"),
    ("def f(x):\n    return torch.ones(2**31, dtype=torch.float64)", "raised RuntimeError"),   # memory limit
    ("g = 1\n", "f is not defined"),
])
def test_a_question_runs_in_its_own_limited_process(source, problem):
    found, _ = _run(source)
    assert (found is None) if problem is None else (problem in found), found


@pytest.mark.slow
def test_a_loop_that_swallows_interrupts_is_killed_at_the_time_limit():
    source = "def f(x):\n    while True:\n        try:\n            pass\n        except BaseException:\n            pass"
    found, seconds = _run(source, startup_seconds=10)
    assert "no answer within" in found
    assert seconds < 30


@pytest.mark.slow
def test_a_loop_that_sleeps_is_killed_at_the_wall_clock_limit():
    # uses no CPU, so only the wall-clock limit can stop it
    source = "import time\ndef f(x):\n    while True:\n        time.sleep(0.5)"
    found, seconds = _run(source, startup_seconds=10)
    assert "no answer within" in found
    assert seconds < 35


@pytest.mark.slow
def test_set_0_sampler_is_regraded_from_its_seeds():
    sampler = load_spec("00_introduction")["sample_mixture"]
    assert any(isinstance(a, Seed) for a in sampler.visible[0].args)
    right = ("def sample_mixture(means, stds, weights, n, generator):\n"
             "    k = torch.multinomial(weights, n, replacement=True, generator=generator)\n"
             "    return means[k] + stds[k, None] * torch.randn(n, 2, generator=generator)")
    assert _run(right, sampler)[0] is None
    noiseless = right.replace("torch.randn(n, 2, generator=generator)", "torch.ones(n, 2)")
    assert "noise" in _run(noiseless, sampler)[0]


def _solved_release(name):
    """The release of exercise set ``name`` with the solution's answers filled in."""
    release = nbformat.read(ROOT / "exercises" / name / f"{name}.ipynb", as_version=4)
    solution = nbformat.read(ROOT / "solutions" / name / f"{name}.ipynb", as_version=4)
    answers = {c.metadata["nbgrader"]["grade_id"]: c.source for c in solution.cells
               if c.metadata.get("nbgrader", {}).get("solution")}
    submission = nbformat.from_dict(release)
    for cell in submission.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            cell.source = answers[meta["grade_id"]]
    return submission, release


@pytest.mark.slow
@pytest.mark.parametrize("name", SETS)
def test_every_solution_gets_full_marks_in_isolation(name):
    """The grade of record: each set's solution, regraded question by question in
    isolated processes on every visible and hidden case, gets every point, unflagged."""
    submission, release = _solved_release(name)
    questions = load_spec(name)
    scores, flags = grade_submission(submission, release, questions,
                                     limits=Limits(startup_seconds=20))
    assert flags == []
    assert {q: problem for q, (_, problem) in scores.items() if problem} == {}
    assert scores == {q.name: (q.points, None) for q in questions.values()}


@pytest.mark.slow
def test_set_4_one_pass_per_conditional_is_out_of_time_in_isolation():
    """Set 4's NADE on a long image: the O(D^2 H) loop of the chapter (minutes) gets no
    answer within the question's limit in the isolated regrade either."""
    nade = load_spec("04_autoregressive_models")["nade_logits"]
    naive = ("def nade_logits(x, A, c, V, b):\n"
             "    return torch.stack([\n"
             "        b[i] + torch.sigmoid(c + x[:, :i] @ A[:i]) @ V[i]\n"
             "        for i in range(x.shape[1])], dim=1)")
    found, seconds = _run(naive, nade)
    assert "no answer within" in found, found
    assert seconds < nade.timeout + 20 + 15


CRITIC = ("def critic(x, params):\n    W, b, v = params\n"
          "    return torch.tanh(x @ W + b) @ v\n\n")
PENALTY = ("def gradient_penalty(params, real, fake, generator):\n"
           "    eps = torch.rand(len(real), 1, generator=generator, dtype=real.dtype)\n"
           "    x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)\n"
           "    grad, = torch.autograd.grad(critic(x_hat, params).sum(), x_hat, create_graph=True)\n"
           "    return ((grad.norm(dim=1) - 1) ** 2).mean()")


@pytest.mark.slow
def test_set_7_penalty_is_regraded_with_its_gradients():
    """Param inputs require grad in the student's process, which returns the gradients too:
    a penalty without create_graph=True has the right value and fails on its gradient."""
    penalty = load_spec("07_generative_adversarial_networks")["gradient_penalty"]
    assert any(isinstance(p, Param) for p in penalty.visible[0].args[0])
    assert _run(CRITIC + PENALTY, penalty)[0] is None
    found, _ = _run(CRITIC + PENALTY.replace(", create_graph=True", ""), penalty)
    assert "the gradient of your result with respect to W" in found, found
    assert "Hint: your penalty is a constant to autograd" in found, found


SAMPLE = ("def reparameterized_sample(mu, logvar, eps):\n"
          "    return mu + torch.exp(0.5 * logvar) * eps")


@pytest.mark.slow
def test_set_6_sample_is_regraded_with_its_gradients():
    """Set 6's mu and logvar are Param inputs: a detached sample has the right value and
    fails on its gradient in the isolated regrade too, with the hint about detaching."""
    sample = load_spec("06_variational_autoencoders")["reparameterized_sample"]
    assert all(isinstance(p, Param) for p in sample.visible[0].args[:2])
    assert _run(SAMPLE, sample)[0] is None
    found, _ = _run(SAMPLE.replace("return mu + torch.exp(0.5 * logvar) * eps",
                                   "return (mu + torch.exp(0.5 * logvar) * eps).detach()"),
                    sample)
    assert "the gradient of your result with respect to mu" in found, found
    assert "Hint: the sample must stay differentiable" in found, found
