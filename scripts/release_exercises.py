"""Generate the student releases exercises/NN_name/ from the nbgrader sources solutions/NN_name/.

    python scripts/release_exercises.py                 # regenerate every release in exercises/
    python scripts/release_exercises.py --out DIR       # write the releases to DIR instead (the tests do this)

This is nbgrader's `generate_assignment` with the course's nbgrader_config.py, run with a
throw-away gradebook so that regenerating never depends on (or changes) a class's grades.
"""
import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def assignments():
    """The assignment names: one folder per exercise set under solutions/."""
    return sorted(p.name for p in (ROOT / "solutions").iterdir() if p.is_dir() and any(p.glob("*.ipynb")))


def release(out_dir=None):
    out_dir = Path(out_dir or ROOT / "exercises").resolve()
    # nbgrader runs the `alembic` command of its environment: put that environment first on PATH.
    env = dict(os.environ, PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    with tempfile.TemporaryDirectory() as tmp:
        for name in assignments():
            subprocess.run(
                [sys.executable, "-m", "nbgrader", "generate_assignment", name, "--force", "--log-level=WARN",
                 f"--CourseDirectory.db_url=sqlite:///{tmp}/gradebook.db",
                 f"--CourseDirectory.release_directory={out_dir}"],
                cwd=ROOT, env=env, check=True)
            print(f"released {name} -> {out_dir / name}")
    return out_dir


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, help="write the releases here instead of exercises/")
    release(parser.parse_args().out)
