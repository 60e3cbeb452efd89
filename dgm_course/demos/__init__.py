"""Interactive lecture demos (ipywidgets), one submodule per chapter.

Each demo is a function that builds its widgets and returns a small object holding them
(``.sliders``, ``.output``, ``.update()``), so that a lecture displays it and a test can move
its sliders programmatically. Demos redraw in well under a second.
"""
