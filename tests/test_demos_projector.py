"""Every lecture demo meets the projector standard of ``dgm_course.demos``.

The demos are built as ``chapters/demos.ipynb`` builds them. Their speed is checked in
``test_demos_speed.py``.
"""
import base64

import ipywidgets as widgets
import matplotlib
import numpy as np
import pytest
from matplotlib.font_manager import FontProperties

matplotlib.use("Agg")

from dgm_course.demos import projector  # noqa: E402
from dgm_course.demos.dae import dae_demo  # noqa: E402
from dgm_course.demos.ebm import langevin_demo  # noqa: E402
from dgm_course.demos.linear_factor import ppca_digit_demo  # noqa: E402
from dgm_course.demos.rbm import gibbs_chain_demo  # noqa: E402
from dgm_course.demos.vae import latent_explorer_demo  # noqa: E402

BUILDERS = {"ppca": ppca_digit_demo, "langevin": langevin_demo, "gibbs": gibbs_chain_demo,
            "vae": latent_explorer_demo, "dae": dae_demo}

# Settings that change the title the most (e.g. MALA adds an acceptance line).
EXTREMES = {
    "ppca": [dict(h1=-3.0, h2=3.0, sigma2=0.0), dict(h1=2.5, h2=-0.1)],
    "langevin": [dict(sampler="MALA", n_steps=0), dict(sampler="MALA", n_steps=20, step_size=0.2),
                 dict(sampler="ULA", temperature=4.0, n_steps=1)],
    "gibbs": [dict(step=1000, model="PCD"), dict(step=0, model="CD-1")],
    "vae": [dict(z1=-3.0, z2=3.0), dict(z1=0.05, z2=-2.95)],
    "dae": [dict(sigma=0.05, step=200), dict(sigma=0.8, step=0)],
}


@pytest.fixture(scope="module", params=sorted(BUILDERS))
def demo(request):
    demo = BUILDERS[request.param]()
    demo.key = request.param
    return demo


def png_size(png):
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def set_controls(demo, settings):
    with demo.hold():
        for name, value in settings.items():
            demo.sliders[name].value = value


def test_figure_is_large_and_fixed(demo):
    width, height = projector.figure_size_px(demo.fig)
    assert width >= projector.MIN_WIDTH_PX
    assert demo.image.layout.width == f"{width}px" and demo.image.layout.height == f"{height}px"
    for settings in EXTREMES[demo.key]:
        set_controls(demo, settings)
        assert png_size(demo.image.value) == (width, height)  # the same size at every setting
    demo.reset()


def test_text_is_at_least_14_points(demo):
    demo.fig.canvas.draw()
    texts = [t for t in demo.fig.findobj(matplotlib.text.Text) if t.get_visible() and t.get_text().strip()]
    assert texts, "the demo figure shows no text"
    small = [(t.get_text(), t.get_fontsize()) for t in texts if t.get_fontsize() < 14]
    assert not small, f"text smaller than 14 pt: {small}"


def test_titles_keep_their_number_of_lines(demo):
    lines = set()
    for settings in EXTREMES[demo.key]:
        set_controls(demo, settings)
        lines |= {t.get_text().count("\n") for t in demo.dynamic if isinstance(t, matplotlib.text.Text)}
    assert len(lines) == 1, "a title gains or loses a line: the figure would jump"
    demo.reset()


def text_width_px(text, size_px=16):
    """Width of ``text`` in DejaVu Sans (wider than the usual browser fonts) at ``size_px``."""
    renderer = projector.new_figure(600, 100).canvas.get_renderer()
    font = FontProperties(family="DejaVu Sans", size=size_px * 72 / renderer.dpi)
    return renderer.get_text_width_height_descent(text, font, ismath=False)[0]


def test_label_width_measure():
    assert 70 < text_width_px("temperature") < 110
    assert text_width_px("temperature T") > text_width_px("step size")


def test_controls_have_labels_that_fit(demo):
    for name, control in demo.sliders.items():
        assert control.description, f"{name} has no label"
        width = control.style.description_width
        assert width.endswith("px"), f"{name}: description_width must be set in pixels, got {width!r}"
        needed = text_width_px(control.description) + 8  # 16-px text and the label's padding
        assert needed <= int(width[:-2]), f"the label of {name} would be cut: it needs {needed:.0f} px"


@pytest.mark.parametrize("setting", [0, 1])
def test_readouts_agree_with_the_title(demo, setting):
    set_controls(demo, EXTREMES[demo.key][setting])
    title = " ".join(t.get_text() for t in demo.dynamic if isinstance(t, matplotlib.text.Text))
    for name, control in demo.sliders.items():
        if isinstance(control, widgets.FloatSlider):
            assert control.readout_format == ".3g"
            shown = f"{control.value:.3g}"
        else:  # selection sliders and toggle buttons show their label
            shown = control.label
        assert shown in title, f"{name}: the readout {shown} is not in the title {title!r}"
    demo.reset()


def test_steps_use_a_selection_slider(demo):
    steps = [c for n, c in demo.sliders.items() if n in ("n_steps", "step")]
    for control in steps:
        assert isinstance(control, widgets.SelectionSlider)
        assert tuple(control.options) == projector.STEP_CHOICES[:len(control.options)]


def test_reset_restores_the_start(demo):
    start_png, start = demo.image.value, demo.settings()
    set_controls(demo, EXTREMES[demo.key][0])
    assert demo.image.value != start_png
    demo.reset_button.click()
    assert demo.settings() == start and demo.image.value == start_png


def test_output_before_the_kernel_runs_is_a_picture(demo):
    data, metadata = demo.widget._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in data
    assert "children=" not in data["text/plain"] and len(data["text/plain"]) < 80
    png = base64.b64decode(data["image/png"])
    assert png_size(png) == projector.figure_size_px(demo.fig)
    assert metadata["image/png"]["width"] == projector.figure_size_px(demo.fig)[0]


def test_new_figure_refuses_a_small_figure():
    with pytest.raises(ValueError, match="width_px must be at least 600"):
        projector.new_figure(400, 300)
    assert projector.figure_size_px(projector.new_figure(600, 300)) == (600, 300)


def test_step_slider_options():
    slider = projector.step_slider("steps", value=5, max_steps=100)
    assert slider.options == (0, 1, 2, 3, 5, 10, 20, 50, 100)
    with pytest.raises(ValueError, match="value must be one of"):
        projector.step_slider("steps", value=7)
