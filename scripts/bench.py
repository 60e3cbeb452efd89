"""Execute chapter notebooks from scratch and report seconds per chapter.

    python scripts/bench.py chapters/*.ipynb            # time each chapter, write nothing
    python scripts/bench.py --write chapters/01_*.ipynb # execute and store the outputs in place

Each notebook runs top to bottom in a fresh kernel of this environment, as nbval and a
reader would run it. ``--threads N`` caps PyTorch/BLAS threads (the course's budget is a
minute per chapter on 2 CPU cores). Exits non-zero if any notebook fails.

Cells tagged ``demo`` (the lecture demos) are also listed with their own seconds: the time
from running the cell to the demo being ready. ``--write`` stores the notebook with the
installed kernel's metadata (``scripts/fix_notebook_metadata.py``), so that JupyterLab does
not open it as modified.
"""
import argparse
import os
import sys
import time
from datetime import datetime
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from fix_notebook_metadata import fix_metadata


def execute(path, *, write, timeout):
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(Path(path).parent)}})
    start = time.perf_counter()
    try:
        client.execute()
    finally:
        seconds = time.perf_counter() - start
    if write:
        fix_metadata(nb)
        nbformat.write(nb, path)
    return seconds, demo_seconds(nb)


def demo_seconds(nb):
    """``[(first line, seconds)]`` for each executed cell tagged ``demo``, from nbclient's timing."""
    found = []
    for cell in nb.cells:
        timing = cell.get("metadata", {}).get("execution", {})
        if "demo" in cell.get("metadata", {}).get("tags", []) and "shell.execute_reply" in timing:
            start = datetime.fromisoformat(timing["iopub.execute_input"].replace("Z", "+00:00"))
            end = datetime.fromisoformat(timing["shell.execute_reply"].replace("Z", "+00:00"))
            lines = [line for line in cell.source.splitlines() if line and not line.startswith(("from ", "import "))]
            found.append(((lines or ["?"])[0][:40], (end - start).total_seconds()))
    return found


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--write", action="store_true", help="store the outputs in the notebooks")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads for PyTorch and BLAS (default 2)")
    parser.add_argument("--timeout", type=int, default=900, help="seconds allowed per cell")
    args = parser.parse_args(argv)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(args.threads)

    total, failed = 0.0, []
    print(f"{'notebook':<48} {'seconds':>8}")
    for path in args.notebooks:
        demos = []
        try:
            seconds, demos = execute(path, write=args.write, timeout=args.timeout)
            status = ""
        except CellExecutionError as err:
            seconds, status = float("nan"), "  FAILED: " + str(err).strip().splitlines()[-1][:120]
            failed.append(path)
        total += 0 if seconds != seconds else seconds
        print(f"{str(path):<48} {seconds:8.1f}{status}", flush=True)
        for first_line, demo in demos:
            print(f"  demo cell: {first_line:<42} {demo:8.1f}", flush=True)
    print(f"{'total':<48} {total:8.1f}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
