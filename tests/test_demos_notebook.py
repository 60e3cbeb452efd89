"""``chapters/demos.ipynb``: one section per chapter in lecture order, each demo ready to run on
its own, stored so that it shows a picture (not a widget's text) before the kernel runs."""
import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]

NOTEBOOK = ROOT / "chapters" / "demos.ipynb"


@pytest.fixture(scope="module")
def nb():
    return nbformat.read(NOTEBOOK, as_version=4)


def tags(cell):
    return set(cell.get("metadata", {}).get("tags", []))


def demo_cells(nb):
    return [(i, cell) for i, cell in enumerate(nb.cells) if "demo" in tags(cell)]


def test_sections_follow_the_lecture_order(nb):
    sections = [int(m.group(1)) for cell in nb.cells if cell.cell_type == "markdown"
                for m in re.finditer(r"^## Chapter (\d+)", cell.source, flags=re.M)]
    assert sections == sorted(sections) and sections[:3] == [1, 2, 3]
    assert len(demo_cells(nb)) == len(sections)  # one demo per section


def test_each_demo_cell_stands_alone_and_is_followed_by_a_static_figure(nb):
    for i, cell in demo_cells(nb):
        assert cell.cell_type == "code"
        assert {"remove-output", "nbval-ignore-output"} <= tags(cell)
        assert "from dgm_course.demos." in cell.source  # imports what it needs: no earlier cell to run
        assert cell.source.strip().endswith(".widget")
        following = nb.cells[i + 1]
        assert "remove-input" in tags(following) and ".figure(" in following.source
        assert any("image/png" in out.get("data", {}) for out in following.outputs), "run make execute"
        assert max(len(line) for line in cell.source.splitlines()) <= 80


def test_demo_outputs_show_a_picture_before_the_kernel_runs(nb):
    for _, cell in demo_cells(nb):
        bundles = [out["data"] for out in cell.outputs if out.output_type in ("execute_result", "display_data")]
        assert len(bundles) == 1, "the demo cell was not executed: run scripts/bench.py --write"
        data = bundles[0]
        assert "application/vnd.jupyter.widget-view+json" in data and "image/png" in data
        assert "children=" not in data["text/plain"]
