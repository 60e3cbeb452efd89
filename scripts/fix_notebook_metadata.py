"""Give every course notebook the metadata of the installed Python kernel.

    python scripts/fix_notebook_metadata.py            # chapters/, exercises/, solutions/
    python scripts/fix_notebook_metadata.py a.ipynb    # just these
    python scripts/fix_notebook_metadata.py --check    # list the notebooks that differ; exit 1 if any

When JupyterLab opens a notebook and starts its kernel, it writes the kernel's ``kernelspec``
and ``language_info`` into the notebook's metadata. If the stored values differ (a kernel
named "Python 3" where the installed kernelspec says "Python 3 (ipykernel)"), the notebook
opens as modified and autosave would rewrite the committed file. This script stores exactly
what the kernel will report. Only the notebook-level metadata changes; cells are untouched.
``scripts/bench.py --write`` applies the same fix to the notebooks it executes.
"""
import argparse
import platform
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("chapters", "exercises", "solutions")

# What ipykernel's kernelspec (share/jupyter/kernels/python3/kernel.json) and its
# kernel_info reply say; JupyterLab stores these on opening a notebook.
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
LANGUAGE_INFO = {
    "codemirror_mode": {"name": "ipython", "version": 3},
    "file_extension": ".py",
    "mimetype": "text/x-python",
    "name": "python",
    "nbconvert_exporter": "python",
    "pygments_lexer": "ipython3",
    "version": platform.python_version(),  # the kernel runs this environment's Python
}


def course_notebooks(root=ROOT):
    """Every ``.ipynb`` under chapters/, exercises/ and solutions/ (not checkpoints)."""
    return sorted(p for folder in FOLDERS for p in (Path(root) / folder).rglob("*.ipynb")
                  if ".ipynb_checkpoints" not in p.parts)


def fix_metadata(nb):
    """Set ``nb``'s kernelspec and language_info in place; return True if anything changed."""
    before = (nb.metadata.get("kernelspec"), nb.metadata.get("language_info"))
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata["language_info"] = {**LANGUAGE_INFO, "codemirror_mode": dict(LANGUAGE_INFO["codemirror_mode"])}
    return before != (nb.metadata["kernelspec"], nb.metadata["language_info"])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every course notebook")
    parser.add_argument("--check", action="store_true", help="only report; write nothing")
    args = parser.parse_args(argv)
    changed = []
    for path in args.notebooks or course_notebooks():
        nb = nbformat.read(path, as_version=4)
        if fix_metadata(nb):
            changed.append(path)
            if not args.check:
                nbformat.write(nb, path)
    verb = "differ" if args.check else "fixed"
    print(f"{len(changed)} notebook(s) {verb}" + "".join(f"\n  {p}" for p in changed))
    return 1 if args.check and changed else 0


if __name__ == "__main__":
    sys.exit(main())
