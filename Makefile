# Deep Generative Models — an executable course.
#   make book   set up .venv and build the HTML book (_build/html/index.html)
#   make test   set up .venv and run every test: library, chapters (nbval), exercises, grading,
#               and the book and the demos in Chromium (installed from Debian when missing)
#   make test-fast  the library's tests without the slow ones (the development loop)
#   make test-browser  the browser tests alone: the book and the demos in Chromium
# All need only Python 3.11 and the package registries; everything goes into .venv.

PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# JupyterLab's defaults for this environment: no "get notified about Jupyter news?" pop-up in a
# lecture, no request for news or updates.
LAB_OVERRIDES := $(VENV)/share/jupyter/lab/settings/overrides.json
NBVAL  := --nbval-current-env --nbval-cell-timeout=600

.PHONY: setup setup-browser test-browser book test test-fast test-lib test-chapters test-solutions exercises execute bench lab demos regrade clean

setup: $(STAMP) $(LAB_OVERRIDES)

$(STAMP): requirements.txt pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found; run e.g. make PYTHON=python3 ..."; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

$(LAB_OVERRIDES): jupyterlab_overrides.json $(STAMP)
	mkdir -p $(dir $@)
	cp $< $@

# The browser tests (tests/test_browser*.py) drive Debian's Chromium through Playwright; nothing downloads
# a browser of its own. Installed here when missing and the machine allows it (root with apt-get).
export DGM_CHROMIUM ?= /usr/bin/chromium
# The browser tests alone (the last step of `make test`). tests/test_browser.py builds the book
# itself (incremental), tests/test_browser_demos.py runs the demos in JupyterLab.
test-browser: setup setup-browser
	$(BIN)/python -m pytest -m browser tests

setup-browser:
	@test -x "$(DGM_CHROMIUM)" || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing Debian's chromium for the browser tests (apt-get)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "The browser tests need Chromium at $(DGM_CHROMIUM): install Debian's package chromium" \
	         "(sudo apt-get install chromium), or run make DGM_CHROMIUM=/path/to/chromium test"; exit 1; \
	  fi; }
	@test -x "$(DGM_CHROMIUM)" || { echo "apt-get did not install $(DGM_CHROMIUM)"; exit 1; }

book: setup
	$(BIN)/jupyter-book build --warningiserror --keep-going .
	@echo "The book is at $(CURDIR)/_build/html/index.html"

# Everything: the library, the chapters (nbval), the exercise sources, then the browser tests
# (the book, which they build, and the demos, in Chromium).
test: setup setup-browser
	$(BIN)/python -m pytest -m "not browser" tests dgm_course
	$(BIN)/python -m pytest $(NBVAL) --nbval chapters --nbval-sanitize-with tests/sanitize.cfg
	$(BIN)/python -m pytest $(NBVAL) --nbval-lax solutions
	$(BIN)/python -m pytest -m browser tests

# The library's tests without those marked slow (or needing a browser): seconds, not minutes.
test-fast: setup
	$(BIN)/python -m pytest -m "not slow and not browser" tests dgm_course

# Regenerate the student releases exercises/NN_name/ from the nbgrader sources solutions/NN_name/.
exercises: setup
	$(BIN)/python scripts/release_exercises.py

# The grade of record: every submission of ASSIGNMENT (submitted/<student>/ASSIGNMENT/) regraded
# in isolated processes, beside nbgrader's score, into regraded/ASSIGNMENT.csv (README, TA section).
regrade: setup
	@test -n "$(ASSIGNMENT)" || { echo "usage: make regrade ASSIGNMENT=00_introduction"; exit 1; }
	$(BIN)/python -m dgm_course.regrade $(ASSIGNMENT)

# Execute the chapters and store their outputs in place (do this after editing a chapter).
execute: setup
	$(BIN)/python scripts/bench.py --write chapters/*.ipynb

# Seconds per chapter, executed from scratch (nothing is written).
bench: setup
	$(BIN)/python scripts/bench.py chapters/*.ipynb

lab: setup
	$(BIN)/jupyter lab

# The lecture demos of every chapter, in one notebook, opened in JupyterLab.
demos: setup
	$(BIN)/jupyter lab chapters/demos.ipynb

clean:
	rm -rf _build
