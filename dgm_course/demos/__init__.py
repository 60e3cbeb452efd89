"""Interactive lecture demos (ipywidgets), one submodule per chapter.

======================  =========================================  ============================
chapter                 demo                                       needs
======================  =========================================  ============================
1 linear factor models  :func:`linear_factor.ppca_digit_demo`      a PPCA fit (well under 1 s)
2 energy-based models   :func:`ebm.langevin_demo`                  nothing (a 2-D toy)
3 RBMs and DBNs         :func:`rbm.gibbs_chain_demo`               two RBMs (about 1 s to train)
4 autoregressive        :func:`autoregressive.drawing_demo`        NADE and FVSBN (seconds)
5 ELBO and wake-sleep   :func:`helmholtz.elbo_demo`                nothing (a 1-D posterior)
6 VAEs                  :func:`vae.latent_explorer_demo`           a 2-latent VAE (seconds)
7 GANs                  :func:`gan.gan_demo`                       four small GANs (seconds)
8 denoising AEs         :func:`dae.dae_demo`                       six small DAEs (about 3 s)
======================  =========================================  ============================

Each demo is a function that builds its widgets and returns an object holding them
(``.sliders``, ``.reset_button``, ``.image``, ``.widget``, ``.update()``), so that a lecture
displays ``demo.widget`` and a test can move its controls programmatically;
``demo.figure()`` draws a static version for the book. ``chapters/demos.ipynb`` gathers all
demos in lecture order (``make demos`` opens it in JupyterLab).

The projector standard
----------------------
Every demo is built to be shown from a projector in a lecture hall, and its tests check it
(``tests/test_demos_projector.py``, ``tests/test_demos_speed.py``):

* **Large.** The figure is at least 600 CSS pixels wide in JupyterLab at 100 % zoom (it is
  drawn at a fixed size, one figure dot per CSS pixel); its titles and labels are at least
  14 pt; markers and lines are thick enough to see from the back row; an 8×8 digit is drawn
  at least 60 pixels wide.
* **Readable controls.** Every control has a description whose width is set
  (``style.description_width``), so that no label is cut, and the controls' text is 16 px.
* **Still.** The layout does not jump when a control changes: the figure has a fixed size
  (an ``ipywidgets.Image`` with fixed width and height), and titles always have the same
  number of lines.
* **Consistent.** Readouts and titles show the same numbers, formatted alike (``.3g``).
* **Fast.** Every redraw takes under 0.3 s, at every setting, on 2 CPU cores. Demos cap
  their work (chains, steps), cache what does not change (chains run once per setting and
  sliced, static parts of the figure drawn once), and set ``continuous_update=False`` only
  where one redraw cannot be fast enough for a drag.
* **The interesting range.** Controls span what is worth showing; numbers of steps use a
  ``SelectionSlider`` over 0, 1, 2, 3, 5, 10, 20, 50, 100, 200, 500, 1000
  (:data:`projector.STEP_CHOICES`) rather than a linear slider; a *reset* button returns to
  the starting state.
* **Ready in seconds.** A demo needs only small models, trained in seconds when its cell
  runs (or loaded from a ``state_dict`` with ``torch.load(..., weights_only=True)``).
* **Static before the kernel runs.** The displayed box also carries a PNG of the figure and a
  one-line text, which JupyterLab shows in a notebook that has not run (instead of a long
  ``VBox(children=...`` line). In the book, the demo's cell is tagged ``remove-output`` and a
  following cell shows ``demo.figure()``.

:mod:`dgm_course.demos.projector` holds the shared parts that make this so.
"""
