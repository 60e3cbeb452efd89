"""Run a student's function on given inputs in this (separate, resource-limited) process.

    python -I -m dgm_course.sandbox JOB_DIR

:mod:`dgm_course.regrade` starts this once per question with time, memory and file-size
limits already set, standard output thrown away and standard error capped. The job
directory holds ``job.json`` (the statements to run and the calls to make) and the input
arrays as ``.npy`` files; for every call this writes ``result_<i>.json`` (what came back,
described as plain JSON, with the gradients with respect to the inputs marked as parameters
where there are any) and the returned arrays, and the inputs after the call (to see
whether they were changed in place), as ``.npy`` files that the checking process reads
with ``allow_pickle=False``. Nothing here knows the expected answers or how they are
checked, and nothing from this process is ever unpickled.
"""
import json
import sys
import traceback
from pathlib import Path

import numpy as np
import torch


def with_gradients(value, params):
    """``(value, d value.sum() / d p for each tensor p in params)``: the answer to a call with
    parameters (``dgm_course.grading.Param``). A gradient is zero where ``value`` does not
    depend on ``p`` through the autograd graph; without params, or for ``None``, ``value``
    itself."""
    if not params or value is None:
        return value
    grads = [None] * len(params)
    if isinstance(value, torch.Tensor) and value.requires_grad:
        try:
            grads = torch.autograd.grad(value.sum(), params, allow_unused=True)
        except RuntimeError:  # e.g. a graph the function already freed with backward()
            pass
    return (value, *(torch.zeros_like(p).detach() if g is None else g.detach()
                     for g, p in zip(grads, params)))


def _load(spec, job, params):
    """The input ``spec`` describes; the parameters among it are appended to ``params``."""
    kind = spec["kind"]
    if kind in ("tensor", "ndarray"):
        array = np.load(job / spec["file"], allow_pickle=False)
        return torch.from_numpy(array) if kind == "tensor" else array
    if kind == "param":   # a tensor the answer must stay differentiable in
        params.append(torch.from_numpy(np.load(job / spec["file"], allow_pickle=False))
                      .requires_grad_(True))
        return params[-1]
    if kind == "generator":
        return torch.Generator().manual_seed(spec["seed"])
    if kind == "tuple":
        return tuple(_load(item, job, params) for item in spec["items"])
    return spec["value"]  # a number, a string or None


def _save(value, job, stem):
    """Describe ``value`` as JSON, writing its arrays to ``<stem>_<k>.npy``."""
    counter = [0]

    def describe(v):
        if isinstance(v, (torch.Tensor, np.ndarray)):
            kind = "tensor" if isinstance(v, torch.Tensor) else "ndarray"
            if isinstance(v, torch.Tensor):
                v = v.detach().cpu()
                v = v.float() if v.dtype in (torch.bfloat16,) else v
                v = v.numpy()
            if v.dtype.kind not in "biuf":
                return {"kind": "other", "type": f"{kind} of {v.dtype}"}
            name = f"{stem}_{counter[0]}.npy"
            counter[0] += 1
            np.save(job / name, v, allow_pickle=False)
            return {"kind": kind, "file": name}
        if isinstance(v, (tuple, list)):
            return {"kind": "tuple", "items": [describe(x) for x in v]}
        if v is None:
            return {"kind": "none"}
        if isinstance(v, (bool, np.bool_)):
            return {"kind": "bool", "value": bool(v)}
        if isinstance(v, (int, float, np.integer, np.floating)):
            return {"kind": "number", "value": float(v)}
        return {"kind": "other", "type": type(v).__name__}

    return describe(value)


def main(job):
    job = Path(job)
    spec = json.loads((job / "job.json").read_text())
    namespace = {"__name__": "__main__"}
    for source in spec["statements"]:
        try:
            exec(compile(source, "<submission>", "exec"), namespace)
        except BaseException:  # a broken statement costs only what depends on it
            traceback.print_exc(limit=1)
    fn = namespace.get(spec["function"])
    for i, call in enumerate(spec["calls"]):
        params = []
        args = [_load(a, job, params) for a in call["args"]]
        if not callable(fn):
            result = {"status": "missing"}
        else:
            try:
                value = with_gradients(fn(*args), params)
                result = {"status": "ok", "value": _save(value, job, f"out_{i}")}
            except NotImplementedError:
                result = {"status": "not_implemented"}
            except BaseException as err:  # noqa: B036 (report whatever it was)
                result = {"status": "error", "error": f"{type(err).__name__}: {err}"[:300]}
        result["after"] = [_save(a, job, f"after_{i}_{j}") if isinstance(a, (torch.Tensor, np.ndarray))
                           else None for j, a in enumerate(args)]
        (job / f"result_{i}.json").write_text(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1])
