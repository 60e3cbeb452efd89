"""Every course notebook stores the metadata the installed kernel reports, so that JupyterLab
does not mark it modified on opening (``scripts/fix_notebook_metadata.py`` sets it)."""
import importlib.util
import json
import platform
from pathlib import Path

import pytest
from jupyter_client.kernelspec import KernelSpecManager

ROOT = Path(__file__).resolve().parents[1]

spec = importlib.util.spec_from_file_location("fix_notebook_metadata", ROOT / "scripts" / "fix_notebook_metadata.py")
fix = importlib.util.module_from_spec(spec)
spec.loader.exec_module(fix)

NOTEBOOKS = fix.course_notebooks()


def test_the_notebooks_are_found():
    folders = {p.relative_to(ROOT).parts[0] for p in NOTEBOOKS}
    assert folders == {"chapters", "exercises", "solutions"}
    assert ROOT / "chapters" / "demos.ipynb" in NOTEBOOKS


def test_the_expected_kernelspec_is_the_installed_one():
    installed = KernelSpecManager().get_kernel_spec("python3")
    assert fix.KERNELSPEC == {"display_name": installed.display_name, "language": installed.language,
                              "name": "python3"}


def test_the_expected_language_info_is_what_the_kernel_reports():
    from ipykernel.ipkernel import IPythonKernel
    assert fix.LANGUAGE_INFO == IPythonKernel.language_info


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_notebook_metadata_matches_the_kernel(path):
    metadata = json.loads(path.read_text(encoding="utf-8"))["metadata"]
    assert metadata.get("kernelspec") == fix.KERNELSPEC, "run scripts/fix_notebook_metadata.py"
    info = dict(metadata.get("language_info", {}))
    # the patch version of Python differs between machines; the rest must be exact
    version = info.pop("version", "")
    assert info == {k: v for k, v in fix.LANGUAGE_INFO.items() if k != "version"}, \
        "run scripts/fix_notebook_metadata.py"
    assert version.split(".")[:2] == platform.python_version().split(".")[:2]


def test_fix_metadata_reports_a_change_once(tmp_path):
    import nbformat
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"display_name": "Python 3", "name": "python3"}})
    assert fix.fix_metadata(nb) is True
    assert nb.metadata.kernelspec == fix.KERNELSPEC
    assert fix.fix_metadata(nb) is False
    path = tmp_path / "a.ipynb"
    nbformat.write(nbformat.v4.new_notebook(), path)
    assert fix.main(["--check", str(path)]) == 1
    assert fix.main([str(path)]) == 0
    assert fix.main(["--check", str(path)]) == 0
