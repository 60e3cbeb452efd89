# Deep Generative Models — an executable course.
#   make book   set up .venv and build the HTML book (_build/html/index.html)
#   make test   set up .venv and run every test: library, chapters (nbval), exercises, grading
#   make test-fast  the library's tests without the slow ones (the development loop)
# All need only Python 3.11 and the package registries; everything goes into .venv.

PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
NBVAL  := --nbval-current-env --nbval-cell-timeout=600

.PHONY: setup book test test-fast test-lib test-chapters test-solutions exercises execute bench lab demos regrade clean

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found; run e.g. make PYTHON=python3 ..."; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

book: setup
	$(BIN)/jupyter-book build --warningiserror --keep-going .
	@echo "The book is at $(CURDIR)/_build/html/index.html"

test: setup
	$(BIN)/python -m pytest tests dgm_course
	$(BIN)/python -m pytest $(NBVAL) --nbval chapters --nbval-sanitize-with tests/sanitize.cfg
	$(BIN)/python -m pytest $(NBVAL) --nbval-lax solutions

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
