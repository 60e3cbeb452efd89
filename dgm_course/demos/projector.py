"""The parts every lecture demo shares, so that each meets the projector standard.

* :func:`new_figure` -- a Matplotlib ``Figure`` of fixed size in CSS pixels, shown as PNG
  in an ``ipywidgets.Image`` of the same fixed size (:func:`picture`): the layout never jumps.
* :data:`FONT` -- text sizes in points (14 at least) for everything a demo draws.
* :func:`step_slider` -- a ``SelectionSlider`` over :data:`STEP_CHOICES`, the numbers of
  steps worth showing (0, 1, 2, 3, 5, ..., 1000), instead of a linear slider.
* :func:`control_style`, :func:`reset_button`, :class:`DemoBox` -- readable controls,
  a button back to the starting state, and the box a notebook displays.
* :class:`Demo` -- the base of every demo: it owns the controls, the picture, the
  reset and the timing of each redraw (``last_redraw_seconds``).

A demo builds its figure once and then only updates its artists. Redraws are fast because
the parts that do not change (axes, ticks, labels, a background image) are drawn once and
kept as a bitmap (Matplotlib's "blitting"); only the demo's ``dynamic`` artists are drawn
again, and the PNG is encoded with low compression.
"""
import base64
import io
import time
from contextlib import contextmanager

import ipywidgets as widgets
import numpy as np
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image as PILImage

DPI = 100  # figure dots per inch; the picture is shown at 1 dot per CSS pixel
FONT = {"title": 16, "label": 14, "ticks": 14}  # points; 14 pt is the smallest text
MIN_WIDTH_PX = 600  # the narrowest figure a demo may show
REDRAW_SECONDS = 0.3  # the slowest redraw allowed, at any setting, on 2 CPU cores
STEP_CHOICES = (0, 1, 2, 3, 5, 10, 20, 50, 100, 200, 500, 1000)

# Larger text for the controls (ipywidgets' sliders have no font-size style of their own).
CSS = """<style>
.dgm-demo .widget-label, .dgm-demo .widget-readout, .dgm-demo .widget-toggle-button,
.dgm-demo .jupyter-button, .dgm-demo .widget-html-content {font-size: 16px;}
.dgm-demo .widget-readout {min-width: 60px;}
</style>"""


def new_figure(width_px, height_px):
    """A Matplotlib ``Figure`` of ``width_px`` x ``height_px`` CSS pixels (not shown by pyplot)."""
    if width_px < MIN_WIDTH_PX:
        raise ValueError(f"width_px must be at least {MIN_WIDTH_PX} (the projector standard), got {width_px}")
    fig = Figure(figsize=(width_px / DPI, height_px / DPI), dpi=DPI)
    FigureCanvasAgg(fig)  # drawn off screen, never by pyplot
    return fig


def canvas_png(fig, *, compact=False):
    """What ``fig``'s canvas holds now, as PNG bytes: full colour with fast, low compression, or
    with ``compact=True`` in 256 colours (about half the size, 3 times slower; for stored previews)."""
    image = PILImage.fromarray(np.asarray(fig.canvas.buffer_rgba())[:, :, :3])
    if compact:
        image = image.quantize(256, method=PILImage.Quantize.MEDIANCUT)
    buffer = io.BytesIO()
    image.save(buffer, format="png", compress_level=1)
    return buffer.getvalue()


def figure_size_px(fig):
    """``(width, height)`` of ``fig`` in CSS pixels."""
    width, height = fig.get_size_inches() * DPI
    return int(round(width)), int(round(height))


def figure_preview(fig):
    """PNG bytes (256 colours) and CSS-pixel size of any Matplotlib figure, drawn afresh:
    the ``preview`` of a :class:`DemoBox` whose demo does not blit onto its own canvas."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    image = PILImage.open(buffer).convert("RGB").quantize(256, method=PILImage.Quantize.MEDIANCUT)
    out = io.BytesIO()
    image.save(out, format="png", compress_level=1)
    return out.getvalue(), figure_size_px(fig)


def picture(fig):
    """An ``ipywidgets.Image`` with the fixed size of ``fig``: the figure's redraws go here."""
    width, height = figure_size_px(fig)
    return widgets.Image(format="png", layout=widgets.Layout(width=f"{width}px", height=f"{height}px",
                                                             min_width=f"{width}px"))


def control_style(description_width):
    """Slider ``style`` and ``layout`` keywords: the label gets ``description_width`` pixels,
    the whole control ``description_width + 260`` (so labels are never cut)."""
    return {"style": {"description_width": f"{description_width}px"},
            "layout": widgets.Layout(width=f"{description_width + 260}px")}


def step_slider(description, *, value=0, max_steps=STEP_CHOICES[-1], description_width=120):
    """A ``SelectionSlider`` over the :data:`STEP_CHOICES` up to ``max_steps``."""
    options = [n for n in STEP_CHOICES if n <= max_steps]
    if value not in options:
        raise ValueError(f"value must be one of {options}, got {value!r}")
    return widgets.SelectionSlider(options=options, value=value, description=description,
                                   continuous_update=True, **control_style(description_width))


def reset_button():
    """The button that puts a demo back to its starting state."""
    return widgets.Button(description="reset", icon="undo", tooltip="back to the starting settings",
                          layout=widgets.Layout(width="110px"))


@contextmanager
def one_thread():
    """Run PyTorch on one thread. A demo's tensors are tiny: more threads only wait for each
    other, and on a busy machine that waiting can make a redraw 100 times slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


class DemoBox(widgets.VBox):
    """The ``VBox`` a demo displays. Besides the live widget, its output carries a static PNG
    of the figure and a one-line text, which JupyterLab shows before the kernel has run the
    cell (an untrusted notebook never renders widgets), instead of a long ``VBox(...)`` repr."""

    def __init__(self, children, *, name, preview):
        super().__init__(children)
        self.add_class("dgm-demo")
        self._name = name
        self._preview = preview  # a function returning the figure's PNG bytes and size

    def _repr_mimebundle_(self, **kwargs):
        data = super()._repr_mimebundle_(**kwargs)
        png, (width, height) = self._preview()
        data["image/png"] = base64.b64encode(png).decode("ascii")
        data["text/plain"] = f"{self._name} (run the cell to get its controls)"
        return data, {"image/png": {"width": width, "height": height}}


class Demo:
    """Base of the lecture demos.

    A subclass sets ``self.sliders`` (name -> widget), ``self.fig`` (from :func:`new_figure`),
    ``self.dynamic`` (the artists that change from one redraw to the next, made with
    ``animated=True``) and ``self.layout_rows`` (lists of widgets, one list per row of
    controls); it defines :meth:`draw` and, if its static parts change with a setting,
    :meth:`background_key`; and it calls :meth:`_finish` at the end of its ``__init__``.

    Attributes
    ----------
    sliders : dict of str -> ipywidgets widget
        The controls; setting ``sliders[name].value`` redraws, as moving it does.
    reset_button : ipywidgets.Button
        Puts every control back to its starting value (one redraw).
    image : ipywidgets.Image
        The figure, as PNG.
    widget : DemoBox
        What the notebook displays.
    last_redraw_seconds : float
        Time of the last redraw: computing, drawing and encoding the PNG.
    """

    name = "demo"

    def _finish(self):
        self.initial = self.settings()
        self.reset_button = reset_button()
        self.reset_button.on_click(self.reset)
        self.image = picture(self.fig)
        rows = [widgets.HBox(row, layout=widgets.Layout(flex_flow="row wrap")) for row in self.layout_rows]
        rows[-1].children += (self.reset_button,)
        self.widget = DemoBox([widgets.HTML(CSS), *rows, self.image], name=self.name,
                              preview=lambda: (canvas_png(self.fig, compact=True), figure_size_px(self.fig)))
        self._backgrounds = {}  # background_key -> bitmap of the figure without its dynamic artists
        self._holding = False
        for control in self.sliders.values():
            control.observe(self.update, names="value")
        self.update()

    def settings(self):
        """The controls' current values, by name."""
        return {name: control.value for name, control in self.sliders.items()}

    def draw(self, **settings):
        """Update the figure's artists for ``settings`` (a subclass defines it)."""
        raise NotImplementedError

    def background_key(self, **settings):
        """Which background the settings need; the static parts are drawn once per key."""
        return None

    def render(self):
        """The figure as PNG: the cached background, then the dynamic artists on top."""
        canvas, key = self.fig.canvas, self.background_key(**self.settings())
        if key in self._backgrounds:
            canvas.restore_region(self._backgrounds[key])
        else:
            canvas.draw()  # everything but the animated (dynamic) artists
            self._backgrounds[key] = canvas.copy_from_bbox(self.fig.bbox)
        for artist in self.dynamic:
            self.fig.draw_artist(artist)
        return canvas_png(self.fig)

    def update(self, change=None):
        """Redraw for the controls' current values (called when a control moves)."""
        if self._holding:
            return
        start = time.perf_counter()
        with one_thread():
            self.draw(**self.settings())
        self.image.value = self.render()
        self.last_redraw_seconds = time.perf_counter() - start

    @contextmanager
    def hold(self):
        """Change several controls with a single redraw at the end."""
        self._holding = True
        try:
            yield
        finally:
            self._holding = False
        self.update()

    def reset(self, button=None):
        """Put every control back to its starting value."""
        with self.hold():
            for name, value in self.initial.items():
                self.sliders[name].value = value
