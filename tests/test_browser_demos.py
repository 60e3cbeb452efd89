"""The demos as an instructor uses them: run in JupyterLab, driven through Chromium.

A demo is a code cell tagged ``demo`` in ``chapters/*.ipynb`` (``chapters/demos.ipynb`` gathers one
per chapter). For each notebook that has demos, the test starts JupyterLab from the course
environment on a free localhost port with a token (on a temporary copy of the notebooks, so nothing
committed is rewritten; shut down at the end), opens the notebook in an offline Chromium, runs it
up to and including its last demo cell, and then moves every control of every demo the way a
person does: drags each slider with the mouse, picks another option of each dropdown, clicks
another of each group of toggle buttons, clicks each button. After each input the demo's figure
(the images in the cell's output) must change, within ``MAX_RESPONSE_MS``. The response time of
every control is printed as a table and written to ``_build/demo_response_times.md``, and a
picture of each demo goes to ``_build/screenshots/demo__<notebook>__cell<N>.png``.

``test_driver_moves_every_kind_of_control`` runs the same driver on a small demo made here with one
control of each kind (IntSlider, FloatSlider, SelectionSlider, Dropdown, ToggleButtons, Button)
and one control that changes nothing, which the driver must report.
"""
import os
import secrets
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

sys.path.insert(0, str(Path(__file__).parent))  # pytest imports tests in importlib mode
from browser_helpers import PageProblems, free_port, new_context, offline_browser  # noqa: E402

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
# where the demos are looked for (another folder of notebooks can be tried with DGM_DEMO_DIR)
DEMO_DIR = Path(os.environ.get("DGM_DEMO_DIR", ROOT / "chapters"))
MAX_RESPONSE_MS = float(os.environ.get("DGM_DEMO_MAX_MS", 1000))  # "within a second or so"
WAIT_FOR_CHANGE_MS = 5000  # how long to wait for a figure that does not change at all
RUN_TIMEOUT_S = 600  # running a notebook up to its demos
TIMES_FILE = ROOT / "_build" / "demo_response_times.md"
SCREENSHOTS = ROOT / "_build" / "screenshots"  # one picture of each demo's output, after driving it


def demo_cells(path):
    """Indices of the code cells tagged ``demo`` in the notebook at ``path``."""
    cells = nbformat.read(path, as_version=4).cells
    return [i for i, cell in enumerate(cells)
            if cell.cell_type == "code" and "demo" in cell.get("metadata", {}).get("tags", [])]


DEMO_NOTEBOOKS = sorted(path.name for path in DEMO_DIR.glob("*.ipynb") if demo_cells(path))


# --- JupyterLab --------------------------------------------------------------------------------

class JupyterLab:
    """A JupyterLab server on a free localhost port, with a token, serving ``root``."""

    def __init__(self, root, home):
        self.root, self.token, self.port = Path(root), secrets.token_hex(16), free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ,
                   JUPYTER_RUNTIME_DIR=str(home / "runtime"),
                   JUPYTERLAB_SETTINGS_DIR=str(home / "settings"),
                   JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"),
                   MPLBACKEND="module://matplotlib_inline.backend_inline")
        self.log = open(home / "jupyterlab.log", "w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root", "--ServerApp.ip=127.0.0.1",
             f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0",
             f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={self.root}",
             "--LabApp.expose_app_in_browser=True",  # window.jupyterapp, as JupyterLab's own UI tests use
             "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
            cwd=self.root, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self._wait_until_up()

    def _api(self, path, method="GET"):
        request = urllib.request.Request(f"{self.base}{path}", method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status

    def _wait_until_up(self, timeout=120):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"JupyterLab exited: {Path(self.log.name).read_text()[-3000:]}")
            try:
                if self._api("/api/status") == 200:
                    return
            except OSError:
                time.sleep(0.5)
        raise RuntimeError(f"JupyterLab did not start in {timeout} s")

    def url(self, notebook):
        return f"{self.base}/lab/tree/{notebook}?token={self.token}&reset"

    def stop(self):
        """Shut the server (and its kernels) down; kill it if it does not stop in time."""
        try:
            self._api("/api/shutdown", method="POST")
            self.process.wait(timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            self.process.kill()
            self.process.wait()
        self.log.close()


# --- driving a notebook in JupyterLab ----------------------------------------------------------

OPEN_NOTEBOOK = """async () => {
  const app = window.jupyterapp;
  await app.started; await app.restored;
  for (let i = 0; i < 600 && !(app.shell.currentWidget && app.shell.currentWidget.sessionContext); i++)
    await new Promise(r => setTimeout(r, 100));
  const panel = app.shell.currentWidget;
  await panel.context.ready; await panel.sessionContext.ready;
  for (let i = 0; i < 600 && !panel.sessionContext.session?.kernel; i++) await new Promise(r => setTimeout(r, 100));
  return panel.content.widgets.length;
}"""

# Runs the cells up to and including `last` (as Shift+Enter would), then marks each demo cell's node.
RUN_UP_TO = """async ([last, demos, timeoutMs]) => {
  const app = window.jupyterapp, panel = app.shell.currentWidget, notebook = panel.content;
  notebook.activeCellIndex = last;
  const run = (async () => {
    await app.commands.execute('notebook:run-all-above');
    await app.commands.execute('notebook:run-cell');
  })();
  const timeout = new Promise(resolve => setTimeout(() => resolve('timeout'), timeoutMs));
  if (await Promise.race([run, timeout]) === 'timeout')
    return [`running cells 0 to ${last} took more than ${timeoutMs / 1000} s`];
  for (const i of demos) notebook.widgets[i].node.setAttribute('data-demo-cell', String(i));
  const errors = [];
  notebook.widgets.slice(0, last + 1).forEach((cell, i) => {
    if (cell.model.type !== 'code') return;
    for (const out of cell.model.outputs.toJSON())
      if (out.output_type === 'error') errors.push(`cell ${i}: ${out.ename}: ${out.evalue}`);
  });
  return errors;
}"""

# The controls of a demo cell, in the order they appear; each gets a data-demo-control id to find it by.
LIST_CONTROLS = """(cell) => {
  const root = document.querySelector(`[data-demo-cell="${cell}"] .jp-Cell-outputArea`);
  const label = el => {
    const box = el.closest('.widget-inline-hbox, .widget-toggle-buttons');
    const text = box && box.querySelector(':scope > .widget-label');
    return (text && text.innerText.trim()) || el.innerText.trim() || el.getAttribute('title') || '';
  };
  const found = [];
  const add = (el, kind) => {
    el.setAttribute('data-demo-control', `${cell}-${found.length}`);
    found.push({id: `${cell}-${found.length}`, kind, label: label(el)});
  };
  for (const el of root.querySelectorAll('.widget-slider, .widget-hslider')) {
    if (el.closest('[data-demo-control]') || !el.querySelector('.noUi-handle')) continue;
    add(el, el.classList.contains('widget-readout') ? 'slider' : 'slider');
  }
  for (const el of root.querySelectorAll('.widget-dropdown')) add(el, 'dropdown');
  for (const el of root.querySelectorAll('.widget-toggle-buttons')) add(el, 'toggle buttons');
  for (const el of root.querySelectorAll('button.widget-button'))
    if (!el.closest('.widget-toggle-buttons')) add(el, 'button');
  for (const el of root.querySelectorAll('.widget-checkbox')) add(el, 'checkbox');
  return found;
}"""

# The demo's figure: the images in its output (a matplotlib figure shown in an Output widget, or
# an Image widget), excluding nothing else the cell shows.
FIGURE_SIGNATURE = """(cell) => [...document.querySelectorAll(`[data-demo-cell="${cell}"] .jp-Cell-outputArea img`)]
  .map(img => img.src).join('|')"""

# Watches the figure; records the time of its first change after `window.__demo.start`.
WATCH = """(cell) => {
  const sig = () => [...document.querySelectorAll(`[data-demo-cell="${cell}"] .jp-Cell-outputArea img`)]
    .map(img => img.src).join('|');
  if (window.__demo) window.__demo.observer.disconnect();
  const before = sig();
  const observer = new MutationObserver(() => {
    const now = sig();
    if (window.__demo.changed === null && now && now !== before) window.__demo.changed = performance.now();
  });
  const root = document.querySelector(`[data-demo-cell="${cell}"] .jp-Cell-outputArea`);
  observer.observe(root, {subtree: true, childList: true, attributes: true, attributeFilter: ['src']});
  window.__demo = {observer, before, start: null, changed: null};
}"""


# The labels of a demo's controls that do not fit their box (shown cut, with an ellipsis).
CUT_LABELS = """(cell) => {
  const root = document.querySelector(`[data-demo-cell="${cell}"] .jp-Cell-outputArea`);
  return [...root.querySelectorAll('.widget-label, button')]
    .filter(el => el.offsetParent !== null && el.scrollWidth > el.clientWidth + 1)
    .map(el => el.innerText.trim());
}"""


def move(page, control):
    """Change one control the way a person does; returns a short description of what was done."""
    box = page.locator(f'[data-demo-control="{control["id"]}"]')
    box.scroll_into_view_if_needed()
    if control["kind"] == "slider":
        handle, track = box.locator(".noUi-handle").first, box.locator(".noUi-base, .slider").first
        h, t = handle.bounding_box(), track.bounding_box()
        x, y = h["x"] + h["width"] / 2, h["y"] + h["height"] / 2
        # towards the side with more room, by a third of the track
        dx = t["width"] / 3 if x < t["x"] + t["width"] / 2 else -t["width"] / 3
        page.evaluate("() => { window.__demo.start = performance.now(); }")
        page.mouse.move(x, y)
        page.mouse.down()
        page.mouse.move(x + dx, y, steps=4)
        page.mouse.up()
        return f"dragged {'right' if dx > 0 else 'left'}"
    if control["kind"] == "dropdown":
        select = box.locator("select")
        options = select.locator("option").all_inner_texts()
        current = select.evaluate("s => s.options[s.selectedIndex] ? s.options[s.selectedIndex].text : ''")
        choice = next(o for o in options if o != current)
        page.evaluate("() => { window.__demo.start = performance.now(); }")
        select.select_option(label=choice)
        return f"chose {choice!r}"
    if control["kind"] == "toggle buttons":
        other = box.locator("button:not(.mod-active)").first
        text = other.inner_text()
        page.evaluate("() => { window.__demo.start = performance.now(); }")
        other.click()
        return f"clicked {text!r}"
    page.evaluate("() => { window.__demo.start = performance.now(); }")
    (box if control["kind"] == "button" else box.locator("input")).click()
    return "clicked"


def settle(page, cell, quiet_s=0.6, timeout_s=20):
    """Wait until the kernel is idle and the demo's figure has not changed for ``quiet_s``."""
    deadline = time.monotonic() + timeout_s
    last, since = None, time.monotonic()
    while time.monotonic() < deadline:
        busy = page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.kernelDisplayStatus")
        signature = page.evaluate(FIGURE_SIGNATURE, cell)
        if signature != last or busy != "idle":
            last, since = signature, time.monotonic()
        elif time.monotonic() - since >= quiet_s:
            return
        time.sleep(0.1)


def drive_demo(page, cell):
    """Move every control of the demo in ``cell``; returns one row per control.

    Each row: ``{"control", "kind", "action", "ms"}``, ``ms`` being the time from the input to the
    first change of the figure, or ``None`` if the figure did not change within WAIT_FOR_CHANGE_MS.
    """
    page.locator(f'[data-demo-cell="{cell}"] .jp-Cell-outputArea img').first.wait_for(timeout=60_000)
    settle(page, cell)
    controls = page.evaluate(LIST_CONTROLS, cell)
    assert controls, f"cell {cell}: the demo shows no control"
    rows = []
    for control in controls:
        page.evaluate(WATCH, cell)
        action = move(page, control)
        try:
            page.wait_for_function("() => window.__demo.changed !== null", timeout=WAIT_FOR_CHANGE_MS)
            ms = page.evaluate("() => window.__demo.changed - window.__demo.start")
        except Exception:  # playwright's TimeoutError: the figure did not change
            ms = None
        rows.append({"control": control["label"] or control["kind"], "kind": control["kind"],
                     "action": action, "ms": ms})
        settle(page, cell)
    return rows


def run_notebook_demos(lab, browser, notebook):
    """Open ``notebook`` in JupyterLab, run it up to its last demo, drive each demo.

    Returns ``(rows, problems)``: ``rows`` are :func:`drive_demo`'s rows with the notebook and
    cell added; ``problems`` lists errors in the executed cells, control labels that are cut,
    JavaScript errors and blocked requests.
    """
    cells = demo_cells(lab.root / notebook)
    blocked = []
    context = new_context(browser, blocked, viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    errors = PageProblems(page)
    page.goto(lab.url(notebook), wait_until="domcontentloaded", timeout=120_000)
    page.wait_for_function("() => window.jupyterapp", timeout=120_000)
    page.evaluate(OPEN_NOTEBOOK)
    problems = page.evaluate(RUN_UP_TO, [max(cells), cells, RUN_TIMEOUT_S * 1000])
    rows = []
    if not problems:
        for cell in cells:
            page.locator(f'[data-demo-cell="{cell}"]').scroll_into_view_if_needed()
            rows += [dict(row, notebook=notebook, cell=cell) for row in drive_demo(page, cell)]
            problems += [f"cell {cell}: the label {text!r} is cut (it does not fit its box)"
                         for text in page.evaluate(CUT_LABELS, cell)]
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)  # the demo as the lecture hall sees it
            page.locator(f'[data-demo-cell="{cell}"] .jp-Cell-outputArea').screenshot(
                path=SCREENSHOTS / f"demo__{Path(notebook).stem}__cell{cell}.png", animations="disabled")
    context.close()
    problems += [e for e in errors.errors if "JavaScript error" in e]
    problems += [f"tried to reach the network: {url}" for url in blocked]
    return rows, problems


def response_table(rows):
    """The rows as a Markdown table: notebook, cell, control, what was done, response time."""
    lines = ["| notebook | cell | control | input | response (ms) |", "| --- | --- | --- | --- | --- |"]
    for row in rows:
        ms = "no change" if row["ms"] is None else f"{row['ms']:.0f}"
        lines.append(f"| {row['notebook']} | {row['cell']} | {row['control']} ({row['kind']}) | "
                     f"{row['action']} | {ms} |")
    return "\n".join(lines)


def slow_or_unchanged(rows, max_ms=MAX_RESPONSE_MS):
    """The rows whose figure did not change, or changed later than ``max_ms``."""
    return [row for row in rows if row["ms"] is None or row["ms"] > max_ms]


# --- fixtures and tests ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab on a temporary copy of the demo notebooks (and the self-test's notebook)."""
    root = tmp_path_factory.mktemp("notebooks")
    TIMES_FILE.unlink(missing_ok=True)  # this run's response times only
    for name in DEMO_NOTEBOOKS:
        shutil.copy(DEMO_DIR / name, root / name)
    nbformat.write(self_test_notebook(), root / "self_test_demo.ipynb")
    server = JupyterLab(root, tmp_path_factory.mktemp("jupyter"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser():
    with offline_browser() as browser:
        yield browser


@pytest.mark.skipif(not DEMO_NOTEBOOKS, reason=f"no code cell tagged 'demo' in {DEMO_DIR}/*.ipynb yet")
@pytest.mark.parametrize("notebook", DEMO_NOTEBOOKS)
def test_every_control_of_every_demo_changes_its_figure_quickly(lab, browser, notebook):
    rows, problems = run_notebook_demos(lab, browser, notebook)
    table = response_table(rows)
    print(f"\n{table}")
    TIMES_FILE.parent.mkdir(exist_ok=True)
    with TIMES_FILE.open("a") as f:
        f.write(f"\n{time.strftime('%Y-%m-%d %H:%M:%S')}, {notebook}:\n\n{table}\n")
    assert not problems, "\n".join(problems)
    bad = slow_or_unchanged(rows)
    assert not bad, (f"controls whose figure did not change within {MAX_RESPONSE_MS:.0f} ms:\n"
                     f"{response_table(bad)}\n\nall controls:\n{table}")


def self_test_notebook():
    """A notebook with one demo of every kind of control, and one control that changes nothing."""
    demo = '''import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import clear_output, display

controls = {
    "frequency": widgets.IntSlider(value=1, min=1, max=5, description="frequency"),
    "amplitude": widgets.FloatSlider(value=1.0, min=0.5, max=2.0, step=0.1, description="amplitude"),
    "damping": widgets.FloatLogSlider(value=0.01, base=10, min=-3, max=-0.5, step=0.1, description="damping"),
    "colour": widgets.SelectionSlider(options=["C0", "C1", "C2"], value="C0", description="colour"),
    "style": widgets.Dropdown(options=["-", "--", ":"], value="-", description="line"),
    # the second label is too long for a button of the default width: the test must see it cut
    "function": widgets.ToggleButtons(options=[("sin", "sin"), ("cosine, phase-shifted by π/2", "cos")],
                                      value="sin", description="function"),
    "unused": widgets.IntSlider(value=0, min=0, max=3, description="unused"),
}
shift = widgets.Button(description="shift phase")
output = widgets.Output()
phase = [0.0]
fig, ax = plt.subplots(figsize=(6, 3))
plt.close(fig)


def draw(change=None):
    x = np.linspace(0, 2 * np.pi, 200)
    f = np.sin if controls["function"].value == "sin" else np.cos
    ax.clear()
    decay = np.exp(-controls["damping"].value * x)
    ax.plot(x, controls["amplitude"].value * decay * f(controls["frequency"].value * x + phase[0]),
            ls=controls["style"].value, color=controls["colour"].value)
    ax.set_ylim(-2.1, 2.1)
    with output:
        clear_output(wait=True)
        display(fig)


def on_shift(button):
    phase[0] += 1.0
    draw()


for name, control in controls.items():
    if name != "unused":
        control.observe(draw, names="value")
shift.on_click(on_shift)
draw()
first_row = widgets.HBox([controls["damping"], controls["frequency"]])  # as the demos lay out sliders
widgets.VBox([first_row, *[c for n, c in controls.items() if n not in ("damping", "frequency")], shift, output])'''
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_markdown_cell("A demo of every kind of control."),
                      nbformat.v4.new_code_cell(demo, metadata={"tags": ["demo"]})]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return notebook


def test_driver_moves_every_kind_of_control(lab, browser):
    """The driver moves each kind of control, sees the figure change, and reports the control that
    changes nothing and the label that is cut."""
    rows, problems = run_notebook_demos(lab, browser, "self_test_demo.ipynb")
    assert problems == ["cell 1: the label 'cosine, phase-shifted by π/2' is cut (it does not fit its box)"], \
        "\n".join(problems)
    by_control = {row["control"]: row for row in rows}
    assert set(by_control) == {"frequency", "amplitude", "damping", "colour", "line", "function", "unused",
                               "shift phase"}, \
        response_table(rows)
    assert {row["kind"] for row in rows} == {"slider", "dropdown", "toggle buttons", "button"}
    assert [row["control"] for row in rows if row["ms"] is None] == ["unused"], response_table(rows)
