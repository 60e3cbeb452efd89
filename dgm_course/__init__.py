"""dgm_course: the library behind *Deep Generative Models — an executable course*.

One module per model family, named after its chapter (``linear_factor``, ``ebm``, ``rbm``,
...), and a few shared modules: ``data`` (digits, 2-D toys, bars and stripes), ``training``
(the one training loop), ``evaluation`` (exact enumeration, numerical integration),
``plotting``, ``demos`` (ipywidgets for lectures), ``grading`` (feedback for exercises) and
``utils`` (seeding, devices). Import the module you need: ``from dgm_course import data``.
"""
__version__ = "0.1.0"
