"""The grade of record: every graded function re-run in its own process, checked outside it.

Inside one Jupyter kernel a submission can patch whatever its test cells call, so nbgrader's
in-kernel score is feedback, not proof. This module regrades a submission without running
any checking code where the student's code runs:

1. **Extract** the answers: the code cells of the submission that are not the release's own
   cells are parsed with :mod:`ast`; their imports, ``def``\\ s, classes and assignments are
   kept (top-level calls, loops and ``os._exit`` are not run). A cell that does not parse is
   skipped and reported.
2. **Run** each question in a separate process (:mod:`dgm_course.sandbox`) with a time limit,
   a memory limit (``resource.setrlimit``), standard output discarded and files capped. The
   process gets only the inputs, as ``.npy`` files, and returns what the function returned as
   ``.npy`` arrays and JSON, read back with ``allow_pickle=False``.
3. **Check** in this process: the results against the reference on every case (visible and
   hidden), with the same comparison and hints as the in-kernel feedback
   (:mod:`dgm_course.grading`); inputs changed in place and forbidden calls (found on the
   AST) where the exercise forbids them.
4. **Report**: :func:`regrade_assignment` writes one CSV row per submission, with the
   isolated score per question, nbgrader's score beside it and flags (the scores differ,
   nbgrader failed to grade, forbidden calls, code touching the grading machinery).

Adding an exercise set
----------------------
Write ``solutions/NN_name/NN_name.ipynb`` (nbgrader source) and one instructor-only file,
``solutions/NN_name/hidden_cases.py`` (never released: ``nbgrader_config.py`` ignores it),
that defines ``QUESTIONS``, a list of :class:`Question`::

    QUESTIONS = [
        Question("logsumexp", points=2, reference=_reference, hints=[Hint(_naive, "...")],
                 visible=[Case((torch.zeros(4),), description="a = 0")],     # as in the cell
                 hidden=[Case((torch.tensor([1000.0, 1000.0]),), description="...")],
                 forbidden=("logsumexp",)),
    ]

``name`` is the function's name and the answer cell's grade id (its test cell is
``test_<name>``), ``points`` the test cell's points. The test cell reloads the checker, runs
the hidden check (it prints one ``✓`` line and gives the hints), then shows the visible cases
with literal expected values, and nothing that computes them::

    import importlib

    # the checker, reloaded from its file
    G = importlib.reload(importlib.import_module("dgm_course.grading"))
    ### BEGIN HIDDEN TESTS
    regrade = importlib.reload(importlib.import_module("dgm_course.regrade"))
    regrade.check_hidden("NN_name", "logsumexp", logsumexp)
    ### END HIDDEN TESTS
    G.check_function(logsumexp, [
        G.Case((torch.zeros(4),), description="a = 0", expected=torch.tensor(1.38629436)),
    ], forbidden=("logsumexp",))

Inputs must be tensors, arrays, numbers, :class:`Seed` (a seeded ``torch.Generator``) or
:class:`~dgm_course.grading.Param` (a tensor the answer must stay differentiable in: the
result is judged with its gradients, computed in the student's process), passed
positionally. Samplers give ``check=`` (a function of the list of outputs and the cases
that returns a problem or ``None``) instead of a reference; rotation-invariant answers
give ``transform=``. Run ``make exercises``, and add the set's typical mistakes to
``WRONG`` in ``tests/test_exercises.py``, which then checks the new set: the release holds no
reference, the spec matches the notebook, the solution passes, the stubs and the mistakes fail.
"""
import ast
import csv
import importlib.util
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import numpy as np
import torch

from dgm_course import grading
from dgm_course.grading import (Case, CheckFailed, Hint, Param, compare, copy_inputs,  # noqa: F401
                                param_inputs, compare_answer, with_gradients)          # (for specs)

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Seed:
    """An input that is a ``torch.Generator`` seeded with ``seed`` (fresh for every call)."""

    seed: int


@dataclass(frozen=True)
class Question:
    """One graded function of an exercise set, with everything needed to check it."""

    name: str                       # the function, its answer cell's grade id
    points: float
    reference: object = None        # reference(*args) -> the right answer
    visible: list = field(default_factory=list)   # the cases the test cell shows
    hidden: list = field(default_factory=list)    # the cases it does not
    hints: tuple = ()               # Hint(wrong, message): typical mistakes
    atol: float = 1e-5
    rtol: float = 1e-4
    forbidden: tuple = ()           # attributes/modules the text forbids (grading.forbidden_uses)
    unchanged: bool = False         # the text forbids changing the inputs in place
    transform: object = None        # transform(output, args) -> what is compared
    check: object = None            # check(outputs, cases) -> problem or None (samplers)
    timeout: float = 20.0           # seconds for all the cases together

    @property
    def cases(self):
        return list(self.visible) + list(self.hidden)


@dataclass
class Limits:
    """What a question's process may use."""

    memory_bytes: int = 3 * 2**30   # address space (torch alone needs about 1 GiB)
    file_bytes: int = 256 * 2**20   # any file it writes, standard error included
    startup_seconds: float = 30.0   # added to the question's timeout (importing torch)


# ---------------------------------------------------------------- the spec files

def spec_path(assignment, root=ROOT):
    return Path(root) / "solutions" / assignment / "hidden_cases.py"


def load_spec(assignment, root=ROOT):
    """The questions of ``assignment``: ``{name: Question}``, from its instructor-only file."""
    path = spec_path(assignment, root)
    if not path.exists():
        raise ValueError(f"assignment: expected an exercise set with {path.relative_to(root)}, "
                         f"got {assignment!r}")
    module_spec = importlib.util.spec_from_file_location(f"hidden_cases_{assignment}", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return {q.name: q for q in module.QUESTIONS}


def _materialise(value):
    if isinstance(value, Seed):
        return torch.Generator().manual_seed(value.seed)
    if isinstance(value, tuple):
        return tuple(_materialise(v) for v in value)
    return copy_inputs(value)


def _label(case, i):
    return f"for {case.description}" if case.description else f"in hidden case {i}"


def judge(question, outputs, statuses=None):
    """The first problem with ``outputs`` (one per case), or ``None`` if all are right.

    ``statuses`` holds, per case, ``None`` or a problem already found while running it
    (an exception, no answer, an input changed in place).
    """
    cases = question.cases
    statuses = statuses or [None] * len(cases)
    for i, (case, status) in enumerate(zip(cases, statuses), start=1):
        if status:
            return f"{question.name}, {_label(case, i)}: {status}"
    if question.check is not None:
        problem = question.check(outputs, cases)
        return f"{question.name}: {problem}" if problem else None
    def answer(fn, case):    # fn on fresh inputs, with the gradients the case asks for
        args = _materialise(case.args)
        return with_gradients(fn(*args), [p for _, p in param_inputs(case.args, args)])

    for i, (case, value) in enumerate(zip(cases, outputs), start=1):
        label = _label(case, i)
        if value is None:
            return f"{question.name}, {label}: your function returned None; did you forget `return`?"
        transform = question.transform or (lambda out, args: out)
        names = [name for name, _ in param_inputs(case.args, case.args)]
        expected = transform(answer(question.reference, case), case.args)
        try:
            got = transform(value, case.args)
        except Exception as err:  # a malformed answer: say what is wrong with it
            return f"{question.name}, {label}: {err}"
        tolerances = dict(names=names, atol=question.atol, rtol=question.rtol)
        problem = compare_answer(got, expected, **tolerances)
        if problem is None:
            continue
        message = f"{question.name}, {label}: {problem}"
        for hint in question.hints:
            wrong = transform(answer(hint.wrong, case), case.args)
            if compare_answer(got, wrong, **tolerances) is None:
                return f"{message}\nHint: {hint.message}"
        return message
    return None


def check_hidden(assignment, name, fn, *, root=ROOT):
    """In-kernel feedback on every case of question ``name`` (run by the hidden test block).

    Raises :class:`~dgm_course.grading.CheckFailed` with the first problem; prints one ``✓``
    line when all cases pass.
    """
    __tracebackhide__ = True
    question = load_spec(assignment, root)[name]
    grading.assert_untouched()
    grading._user_function(fn, name)
    used = grading.forbidden_uses(fn, question.forbidden)
    if used:
        raise CheckFailed(f"{name}: the exercise asks you not to use {', '.join(used)}; "
                          "write it yourself.")
    outputs, statuses = [], []
    for i, case in enumerate(question.cases, start=1):
        args = _materialise(case.args)
        value = grading._run_student(fn, args, {}, name, _label(case, i), question.timeout)
        outputs.append(with_gradients(value, [p for _, p in param_inputs(case.args, args)]))
        statuses.append(_mutation(question, fn, case.args, args))
    problem = judge(question, outputs, statuses)
    if problem:
        raise CheckFailed(problem)
    print(f"✓ {name}: the {len(question.hidden)} hidden case(s) pass too")
    return True


def _mutation(question, fn_or_names, before, after):
    if not question.unchanged:
        return None
    names = (fn_or_names if isinstance(fn_or_names, list)
             else grading._argument_names(fn_or_names, len(before)))
    for name, b, a in zip(names, before, after):
        if grading._changed(b, a):
            return (f"your function changed its input `{name}` in place; the exercise asks you to "
                    f"leave it unchanged (work on a copy, e.g. {name}.clone()).")
    return None


# ---------------------------------------------------------------- extracting the answers

_KEPT = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef,
         ast.Assign, ast.AnnAssign)


def _code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def _grade_id(cell):
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def _strip_magics(source):
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line
                     for line in source.splitlines())


@dataclass
class Answers:
    """What a submission defines: the statements to run and their syntax tree."""

    preamble: list          # the release's own setup cells (trusted)
    statements: list        # kept top-level statements of the answer cells, as source
    tree: ast.Module        # the kept statements, for the AST scans
    syntax_errors: list     # "cell k: message"
    all_code: ast.Module    # every parsed cell of the submission that is not the release's


def extract_answers(submission, release):
    """The answers in the notebook ``submission``, given the ``release`` it was made from."""
    release_cells = _code_cells(release)
    test_ids = {_grade_id(c) for c in release_cells
                if c.metadata.get("nbgrader", {}).get("grade") and
                not c.metadata.get("nbgrader", {}).get("solution")}
    fixed = {c.source.strip() for c in release_cells
             if not c.metadata.get("nbgrader", {}).get("solution")}
    preamble = [c.source for c in release_cells if not c.metadata.get("nbgrader")]
    kept, everything, errors = [], [], []
    for k, cell in enumerate(_code_cells(submission), start=1):
        if _grade_id(cell) in test_ids or cell.source.strip() in fixed:
            continue
        try:
            tree = ast.parse(_strip_magics(cell.source))
        except SyntaxError as err:
            errors.append(f"cell {k}: {err.msg} (line {err.lineno})")
            continue
        everything.extend(tree.body)
        kept.extend(node for node in tree.body if isinstance(node, _KEPT))
    return Answers(preamble, [ast.unparse(node) for node in kept], ast.Module(kept, []),
                   errors, ast.Module(everything, []))


def _dotted(node, aliases):
    """``torch.special.logsumexp`` for an Attribute/Name chain, with import aliases resolved."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(aliases.get(node.id, node.id))
    else:
        parts.append("?")
    return ".".join(reversed(parts))


def _aliases(tree):
    aliases = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                aliases[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module:
            for a in node.names:
                aliases[a.asname or a.name] = f"{node.module}.{a.name}"
    return aliases


def ast_forbidden(tree, name, forbidden):
    """The entries of ``forbidden`` used by function ``name`` in ``tree`` or its helpers."""
    if not forbidden:
        return []
    defs = {n.name: n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    aliases = _aliases(tree)
    todo, seen, used = [name], set(), set()
    while todo:
        current = todo.pop()
        if current in seen or current not in defs:
            continue
        seen.add(current)
        for node in ast.walk(defs[current]):
            if isinstance(node, ast.Name) and node.id in defs:
                todo.append(node.id)
            if isinstance(node, ast.Attribute) or (isinstance(node, ast.Name) and node.id in aliases):
                used.add(_dotted(node, aliases))      # (a name the student defines is not an import)
            if isinstance(node, ast.Import):
                used.update(a.name for a in node.names)
            if isinstance(node, ast.ImportFrom) and node.module:
                used.update(f"{node.module}.{a.name}" for a in node.names)
    found = []
    for entry in forbidden:
        for u in used:
            if ("." in entry and (u == entry or u.startswith(entry + "."))) or \
               ("." not in entry and (u.split(".")[0] == entry or
                                      (u.count(".") and u.split(".")[-1] == entry))):
                found.append(entry)
                break
    return found


_MACHINERY_MODULES = ("dgm_course.grading", "dgm_course.regrade", "dgm_course.sandbox", "nbgrader",
                      "importlib", "builtins", "ctypes", "signal", "gc", "sys.modules", "os._exit",
                      "sys.exit", "os.kill", "subprocess", "multiprocessing", "threading",
                      # reading files: the instructor's solutions/NN/hidden_cases.py sits beside
                      # the installed library, and the sandbox cannot hide it from the process
                      "os", "io", "pathlib", "runpy", "glob", "shutil", "pickle", "marshal")
_MACHINERY_NAMES = {"CheckFailed", "check_function", "check_hidden", "compare_answer", "__builtins__",
                    "__import__", "exec", "eval", "compile", "setattr", "globals", "exit", "quit",
                    # a file opened, or a function looked up by a computed name
                    # (getattr(torch, "log" + "sumexp") escapes the forbidden-call scan)
                    "open", "getattr"}


def machinery_flags(tree):
    """What in the submission's code touches the grading machinery or the process."""
    aliases, found = _aliases(tree), []

    def note(what):
        if what not in found:
            found.append(what)

    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [f"{node.module}.{a.name}" for a in node.names])
            for n in names:
                if any(n == m or n.startswith(m + ".") for m in _MACHINERY_MODULES):
                    note(f"imports {n}")
        elif isinstance(node, (ast.Attribute, ast.Name)):
            dotted = _dotted(node, aliases)
            root = node
            while isinstance(root, ast.Attribute):
                root = root.value
            # a module is used only through a name an import bound (a local `signal` is not)
            imported = isinstance(root, ast.Name) and root.id in aliases
            if imported and any(dotted == m or dotted.startswith(m + ".")
                                for m in _MACHINERY_MODULES[3:]):
                note(f"uses {dotted}")
            elif isinstance(node, ast.Name) and node.id in _MACHINERY_NAMES:
                note(f"uses {node.id}")
            elif isinstance(node, ast.Attribute) and node.attr in (
                    "compare", "compare_answer", "_compare", "check_function", "modules", "_exit"):
                note(f"uses {dotted}")
        elif isinstance(node, ast.ExceptHandler):
            caught = _dotted(node.type, aliases) if node.type is not None else "everything"
            if node.type is None or any(x in ast.dump(node.type) for x in
                                        ("BaseException", "KeyboardInterrupt", "SystemExit")):
                note(f"catches {caught if node.type is not None else 'everything (bare except)'}")
    return found


# ---------------------------------------------------------------- running a question isolated

def _write_input(value, job, stem, counter):
    if isinstance(value, Seed):
        return {"kind": "generator", "seed": value.seed}
    if grading._is_param(value):
        name = f"{stem}_{next(counter)}.npy"
        np.save(job / name, value.value.detach().cpu().numpy(), allow_pickle=False)
        return {"kind": "param", "file": name}
    if isinstance(value, torch.Tensor):
        name = f"{stem}_{next(counter)}.npy"
        np.save(job / name, value.detach().cpu().numpy(), allow_pickle=False)
        return {"kind": "tensor", "file": name}
    if isinstance(value, np.ndarray):
        name = f"{stem}_{next(counter)}.npy"
        np.save(job / name, value, allow_pickle=False)
        return {"kind": "ndarray", "file": name}
    if isinstance(value, tuple):
        return {"kind": "tuple", "items": [_write_input(v, job, stem, counter) for v in value]}
    if isinstance(value, (bool, int, float, str)) or value is None:
        return {"kind": "value", "value": value}
    raise ValueError(f"case inputs must be tensors, arrays, numbers, Seed or Param; got "
                     f"{type(value).__name__}")


class _Opaque:
    """Something the student's function returned that is not a number or an array."""

    def __init__(self, type_name):
        self.type_name = type_name

    def __repr__(self):
        return f"<{self.type_name}>"


def _read_value(desc, job):
    kind = desc["kind"]
    if kind in ("tensor", "ndarray"):
        path = job / desc["file"]
        if path.parent != job or not path.is_file():
            return _Opaque("missing array")
        array = np.load(path, allow_pickle=False)
        return torch.from_numpy(array) if kind == "tensor" else array
    if kind == "tuple":
        return tuple(_read_value(d, job) for d in desc["items"])
    if kind == "none":
        return None
    if kind == "number":
        return float(desc["value"])
    if kind == "bool":
        return bool(desc["value"])
    return _Opaque(str(desc.get("type", "object"))[:60])


def _limit(limits, cpu_seconds):
    def apply():
        os.setsid()
        resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_bytes, limits.file_bytes))
        resource.setrlimit(resource.RLIMIT_CPU, (int(cpu_seconds), int(cpu_seconds) + 1))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    return apply


def run_isolated(question, answers, *, limits=None):
    """Run ``question``'s function on its cases in a fresh process; return (outputs, statuses)."""
    limits = limits or Limits()
    cases = question.cases
    with tempfile.TemporaryDirectory(prefix="regrade-") as tmp:
        job = Path(tmp)
        counter = iter(range(10**6))
        calls = [{"args": [_write_input(a, job, f"in_{i}", counter) for a in case.args]}
                 for i, case in enumerate(cases)]
        (job / "job.json").write_text(json.dumps({"statements": answers.preamble + answers.statements,
                                                  "function": question.name, "calls": calls}))
        seconds = question.timeout + limits.startup_seconds
        env = {"PATH": os.environ.get("PATH", ""), "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
               "HOME": tmp, "PYTHONHASHSEED": "0"}
        with open(job / "stderr.txt", "wb") as err:
            process = subprocess.Popen([sys.executable, "-I", "-m", "dgm_course.sandbox", str(job)],
                                       cwd=job, env=env, stdin=subprocess.DEVNULL,
                                       stdout=subprocess.DEVNULL, stderr=err,
                                       preexec_fn=_limit(limits, seconds))
            try:
                process.wait(timeout=seconds + 5)   # the CPU limit usually acts first
                # SIGXCPU (soft) or SIGKILL (hard) from RLIMIT_CPU: out of time too
                timed_out = process.returncode in (-signal.SIGXCPU, -signal.SIGKILL)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, 9)
                process.wait()
                timed_out = True
        outputs, statuses = [], []
        for i, case in enumerate(cases):
            path = job / f"result_{i}.json"
            if not path.exists():
                why = (f"no answer within {seconds:g} s (a loop that never ends, or work that is not "
                       "vectorised)" if timed_out else
                       f"the process ended before answering (exit status {process.returncode}; "
                       "memory limit, a crash or the code exits the process)")
                outputs.append(None)
                statuses.append(why)
                continue
            result = json.loads(path.read_text())
            status = result.get("status")
            if status == "ok":
                outputs.append(_read_value(result["value"], job))
                after = [_read_value(d, job) if d else None for d in result.get("after", [])]
                statuses.append(_mutation(question, _parameter_names(answers, question.name, len(after)),
                                          case.args, after))
            else:
                outputs.append(None)
                statuses.append({"missing": f"{question.name} is not defined (no `def {question.name}` "
                                            "that runs)",
                                 "not_implemented": f"{question.name} is not implemented yet",
                                 }.get(status) or f"your function raised {result.get('error', '?')}")
        return outputs, statuses


def _parameter_names(answers, name, n):
    for node in answers.tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            names = [a.arg for a in node.args.args]
            return [names[i] if i < len(names) else f"argument {i + 1}" for i in range(n)]
    return [f"argument {i + 1}" for i in range(n)]


def grade_submission(submission, release, questions, *, limits=None):
    """Isolated scores of one submission: ``{name: (points, problem)}``, and the flags."""
    answers = extract_answers(submission, release)
    flags = [f"syntax error in {e}" for e in answers.syntax_errors]
    touches = machinery_flags(answers.all_code)
    if touches:
        flags.append(f"touches the grading machinery: {', '.join(touches)}")
    scores = {}
    for question in questions.values():
        used = ast_forbidden(answers.tree, question.name, question.forbidden)
        if used:
            flags.append(f"{question.name} uses what the exercise forbids: {', '.join(used)}")
            scores[question.name] = (0.0, f"{question.name}: uses {', '.join(used)}")
            continue
        outputs, statuses = run_isolated(question, answers, limits=limits)
        problem = judge(question, outputs, statuses)
        scores[question.name] = (0.0 if problem else float(question.points), problem)
    return scores, flags


# ---------------------------------------------------------------- a whole class

def _nbgrader_scores(course, assignment):
    """``{student: (score or None, failed)}`` from nbgrader's gradebook and autograded folder."""
    scores = {}
    db = course / "gradebook.db"
    if not db.exists():
        return scores
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(f"sqlite:///{db}") as gb:
        for student in gb.students:
            try:
                submission = gb.find_submission(assignment, student.id)
            except MissingEntry:
                continue
            autograded = course / "autograded" / student.id / assignment
            failed = not any(autograded.glob("*.ipynb"))
            scores[student.id] = (None if failed else float(submission.score), failed)
    return scores


def regrade_assignment(assignment, course=ROOT, *, out=None, limits=None, log=print):
    """Regrade every ``submitted/<student>/<assignment>/`` notebook; write and return the rows.

    The CSV (default ``regraded/<assignment>.csv``) has one row per student: the isolated
    score per question and in total (the grade of record), nbgrader's score and the flags.
    """
    course = Path(course)
    questions = load_spec(assignment, course)
    release_path = course / "exercises" / assignment / f"{assignment}.ipynb"
    release = nbformat.read(release_path, as_version=4)
    nbgrader = _nbgrader_scores(course, assignment)
    rows = []
    for folder in sorted((course / "submitted").glob(f"*/{assignment}")):
        student = folder.parent.name
        start = time.perf_counter()
        notebooks = sorted(folder.glob("*.ipynb"))
        flags = []
        try:
            submission = nbformat.read(notebooks[0], as_version=4)
            scores, flags = grade_submission(submission, release, questions, limits=limits)
        except (IndexError, OSError, nbformat.reader.NotJSONError) as err:   # not a notebook
            flags.append(f"unreadable submission: {type(err).__name__}")
            scores = {q: (0.0, "unreadable") for q in questions}
        total = sum(points for points, _ in scores.values())
        nb_score, nb_failed = nbgrader.get(student, (None, True))
        if nb_failed:
            flags.insert(0, "nbgrader failed to grade (or did not autograde) this submission")
        elif abs(nb_score - total) > 1e-9:
            flags.insert(0, f"scores differ: isolated {total:g}, nbgrader {nb_score:g}")
        row = {"student_id": student, "assignment": assignment,
               **{f"{name}": points for name, (points, _) in scores.items()},
               "isolated_score": total, "max_score": sum(q.points for q in questions.values()),
               "nbgrader_score": "" if nb_score is None else nb_score,
               "seconds": round(time.perf_counter() - start, 1),
               "flags": "; ".join(flags),
               "problems": " | ".join(p.splitlines()[0] for _, p in scores.values() if p)}
        rows.append(row)
        log(f"{student}: {total:g}/{row['max_score']:g} (nbgrader {row['nbgrader_score']}) "
            f"{row['flags']}")
    out = Path(out or course / "regraded" / f"{assignment}.csv")
    out.parent.mkdir(parents=True, exist_ok=True)
    fieldnames = (["student_id", "assignment"] + list(questions) +
                  ["isolated_score", "max_score", "nbgrader_score", "seconds", "flags", "problems"])
    with open(out, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fieldnames)
        writer.writeheader()
        writer.writerows(rows)
    log(f"wrote {out}")
    return rows


def main(argv=None):
    import argparse

    parser = argparse.ArgumentParser(description="Regrade every submission of an assignment in "
                                                 "isolated processes and write the final grades CSV.")
    parser.add_argument("assignment", help="e.g. 00_introduction")
    parser.add_argument("--course", type=Path, default=Path.cwd(), help="the course folder")
    parser.add_argument("--out", type=Path, help="the CSV to write (default regraded/<assignment>.csv)")
    parser.add_argument("--startup-seconds", type=float, default=Limits.startup_seconds,
                        help="seconds each question's process gets to start, on top of its time limit")
    args = parser.parse_args(argv)
    regrade_assignment(args.assignment, args.course, out=args.out,
                       limits=Limits(startup_seconds=args.startup_seconds))


if __name__ == "__main__":
    # run the importable module's main, so that the spec files and this share one Seed, Question...
    from dgm_course import regrade

    regrade.main()
