"""Lecture demo for chapter 4: a digit drawn pixel by pixel, and half-drawn test digits completed.

    demo = drawing_demo({"NADE": nade, "PixelCNN": pixelcnn}, x_test)
    demo.widget                       # sliders over the step and the test digit, a model toggle
    demo.sliders["step"].value = 40   # what a test (or a lecturer) can do programmatically
    demo.figure()                     # the static version for the book

Left: one sample of the chosen model, drawn in raster order; at step ``t`` the first ``t`` pixels
are drawn, pixel ``t`` shows its conditional mean given them (framed in red), the rest is still
blank. Right: a test digit whose top half is given, and completions of its bottom half drawn by
the model. The sample and all completions are drawn once per model when the demo is built (one
batched call), so moving a control only swaps the pictures' data.
"""
import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import clear_output, display
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from dgm_course.autoregressive import AutoregressiveModel
from dgm_course.demos.projector import CSS, DemoBox, figure_preview, one_thread
from dgm_course.validation import check_data, check_int

SIDE = 8  # the digits are 8 x 8
CMAP = plt.get_cmap("gray_r").with_extremes(bad="#dde6f0")  # blank (undrawn) pixels: pale blue


def _mean(model, conditionals):
    """Conditional means in [0, 1]: P(x = 1) for binary pixels, E[x] / (K - 1) for K levels."""
    if model.levels == 2:
        return conditionals
    levels = torch.arange(model.levels, dtype=conditionals.dtype)
    return (conditionals * levels).sum(-1) / (model.levels - 1)


class DrawingDemo:
    """Sequential sampling and completion by one of several trained autoregressive models.

    Attributes
    ----------
    sliders : dict
        ``"step"`` (pixels drawn, 0 to 64), ``"digit"`` (which test digit to complete),
        ``"model"`` (``ToggleButtons`` over the models' names), and ``"reset"`` (a button).
    last_images : tuple of numpy arrays
        The two pictures drawn last (the sample being drawn, the completions).
    widget : ipywidgets.VBox
        What to display.
    """

    def __init__(self, models, x_test, *, n_completions=4, n_digits=20, generator=0):
        if (not isinstance(models, dict) or not models
                or not all(isinstance(m, AutoregressiveModel) and m.n_features == SIDE * SIDE
                           for m in models.values())):
            raise ValueError("models must be a non-empty dict of name -> autoregressive model "
                             f"of 8 x 8 images, got {type(models).__name__}")
        self.n_completions = check_int(n_completions, "n_completions", minimum=1, maximum=8)
        n_digits = check_int(n_digits, "n_digits", minimum=1)
        x_test = check_data(x_test, "x_test", n_features=SIDE * SIDE, support="levels",
                            levels=17, dtype=torch.float32)
        self.models, self.generator = models, generator
        self.x_test = x_test[:n_digits]
        self.samples, self.means, self._completions = {}, {}, {}
        with one_thread():  # one image at a time: threads would only wait for each other
            for name, model in models.items():
                sample = model.sample(1, generator=generator)
                scale = 1 if model.levels == 2 else model.levels - 1
                self.samples[name] = sample[0].float().numpy() / scale
                self.means[name] = _mean(model, model.conditionals(sample))[0].float().numpy()
                self._completions[name] = self._complete_all(name)
        names = list(models)
        style = {"description_width": "initial"}
        self.sliders = {
            "model": widgets.ToggleButtons(options=names, value=names[0], description="model",
                                           # wide enough for "PixelCNN, 17 levels"
                                           style=dict(style, button_width="auto")),
            "step": widgets.IntSlider(value=SIDE * SIDE // 2, min=0, max=SIDE * SIDE,
                                      description="pixels drawn", style=style,
                                      layout=widgets.Layout(width="420px")),
            "digit": widgets.IntSlider(value=0, min=0, max=len(self.x_test) - 1,
                                       description="test digit", style=style,
                                       layout=widgets.Layout(width="320px")),
            "reset": widgets.Button(description="reset"),
        }
        self.fig = Figure(figsize=(9.6, 3.6))
        self.ax_draw, self.ax_complete = self.fig.subplots(
            1, 2, gridspec_kw={"width_ratios": [1, 1 + self.n_completions]})
        for ax in (self.ax_draw, self.ax_complete):
            ax.set_axis_off()
        blank = np.full((SIDE, SIDE), np.nan)
        self._draw_image = self.ax_draw.imshow(blank, cmap=CMAP, vmin=0, vmax=1,
                                               interpolation="nearest")
        self._frame = Rectangle((-0.5, -0.5), 1, 1, fill=False, edgecolor="red", linewidth=3)
        self.ax_draw.add_patch(self._frame)
        width = (SIDE + 1) * (1 + self.n_completions) - 1
        self._complete_image = self.ax_complete.imshow(
            np.full((SIDE, width), np.nan), cmap=CMAP, vmin=0, vmax=1, interpolation="nearest")
        self.ax_complete.axhline(SIDE / 2 - 0.5, color="C3", linewidth=2)
        self.output = widgets.Output()
        for key in ("model", "step", "digit"):
            self.sliders[key].observe(lambda change: self.update(), names="value")
        self.sliders["reset"].on_click(lambda button: self.reset())
        controls = widgets.HBox([self.sliders["model"], self.sliders["reset"]])
        sliders = widgets.HBox([self.sliders["step"], self.sliders["digit"]])
        self.widget = DemoBox([widgets.HTML(CSS), controls, sliders, self.output],
                              name="Drawing demo (chapter 4)", preview=lambda: figure_preview(self.fig))
        self.update()

    def drawing(self, model, step):
        """The sample of ``model`` after ``step`` pixels: an 8 x 8 array, NaN where blank."""
        image = np.full(SIDE * SIDE, np.nan)
        image[:step] = self.samples[model][:step]
        if step < SIDE * SIDE:
            image[step] = self.means[model][step]
        return image.reshape(SIDE, SIDE)

    def _complete_all(self, name):
        """Completions of every test digit by model ``name``: one batched call per model."""
        m = self.models[name]
        scale = 1 if m.levels == 2 else m.levels - 1
        x = self.x_test if m.levels > 2 else (self.x_test >= 8).float()  # binarise
        k = self.n_completions
        mask = torch.arange(SIDE * SIDE) < SIDE * SIDE // 2
        filled = m.sample(len(x) * k, generator=self.generator,
                          x_observed=x.repeat_interleave(k, 0), mask=mask)
        canvases = []
        for digit in range(len(x)):
            tiles = [x[digit]] + list(filled[digit * k:(digit + 1) * k])
            canvas = np.full((SIDE, (SIDE + 1) * len(tiles) - 1), np.nan)
            for i, tile in enumerate(tiles):
                canvas[:, i * (SIDE + 1): i * (SIDE + 1) + SIDE] = (
                    tile.float().numpy().reshape(SIDE, SIDE) / scale)
            canvases.append(canvas)
        return canvases

    def completions(self, model, digit):
        """The test digit (top half given) and ``n_completions`` completions, side by side."""
        return self._completions[model][digit]

    def update(self):
        """Redraw both pictures for the controls' current values."""
        model, step = self.sliders["model"].value, self.sliders["step"].value
        digit = self.sliders["digit"].value
        self.last_images = (self.drawing(model, step), self.completions(model, digit))
        self._draw_image.set_data(self.last_images[0])
        self._frame.set_xy((step % SIDE - 0.5, step // SIDE - 0.5))
        self._frame.set_visible(step < SIDE * SIDE)
        self._complete_image.set_data(self.last_images[1])
        self.ax_draw.set_title(f"{model}: {step} of {SIDE * SIDE} pixels", fontsize=15)
        self.ax_complete.set_title(f"test digit {digit} | {self.n_completions} completions "
                                   "of its bottom half", fontsize=15)
        with self.output:
            clear_output(wait=True)
            display(self.fig)

    def reset(self):
        """Back to the starting state: half the pixels drawn, the first digit, the first model."""
        self.sliders["step"].value = SIDE * SIDE // 2
        self.sliders["digit"].value = 0
        self.sliders["model"].value = self.sliders["model"].options[0]

    def figure(self, steps=(0, 8, 20, 32, 44, 56, 64), digits=(0, 1)):
        """A static figure for the book: for each model, its sample at ``steps`` (a row of
        panels) and completions of the test ``digits`` (a row below)."""
        names = list(self.models)
        cols = len(steps)
        fig = plt.figure(figsize=(1.5 * cols, 3.4 * len(names)))
        grid = fig.add_gridspec(2 * len(names), len(digits) * cols, hspace=0.6)
        for row, name in enumerate(names):
            for j, step in enumerate(steps):
                ax = fig.add_subplot(grid[2 * row, j * len(digits):(j + 1) * len(digits)])
                ax.imshow(self.drawing(name, step), cmap=CMAP, vmin=0, vmax=1,
                          interpolation="nearest")
                ax.set_title(f"{name}\n{step} pixels" if j == 0 else f"\n{step} pixels",
                             fontsize=11, loc="left" if j == 0 else "center")
                ax.set_axis_off()
            for j, digit in enumerate(digits):
                ax = fig.add_subplot(grid[2 * row + 1, j * cols:(j + 1) * cols])
                ax.imshow(self.completions(name, digit), cmap=CMAP, vmin=0, vmax=1,
                          interpolation="nearest")
                ax.axhline(SIDE / 2 - 0.5, color="C3", linewidth=1.5)
                ax.set_title(f"test digit {digit} (top half given) | completions",
                             fontsize=11)
                ax.set_axis_off()
        return fig


def drawing_demo(models, x_test, **kwargs):
    """Build a :class:`DrawingDemo` (``models``: a dict of name -> trained autoregressive
    model of 8 x 8 digits; ``x_test``: test digits to complete); show ``.widget``."""
    return DrawingDemo(models, x_test, **kwargs)
