"""The book as a reader sees it: every page of the built book opened in Chromium, offline.

The module builds the book (``jupyter-book build``, incremental: seconds when nothing changed),
serves ``_build/html`` on a free localhost port and opens every page of ``_toc.yml`` in a
1280-px-wide headless Chromium in which every request that leaves localhost is aborted. Each page
is loaded once (:func:`visit`); the tests then check what a reader would notice:

* the page loads without JavaScript errors, console errors or failed (or blocked) requests;
* every equation is typeset by MathJax, with no raw ``\\(``, ``\\[`` or ``$$`` left in the text;
* every figure is a loaded image of non-zero size;
* every citation links to an entry of the bibliography;
* the search page finds each chapter from a word of its title;
* notebook pages have their launch buttons (Binder, Colab);
* no code cell, nor its printed output, needs horizontal scrolling (``scrollWidth`` <= ``clientWidth``),
  and no display equation is wider than the text column.

A full-page screenshot of every page goes to ``_build/screenshots/`` for a person to look at.
Each check is a function returning a list of problems; ``test_checks_catch_a_broken_page`` shows
that each of them reports a deliberately broken page.
"""
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

import nbformat
import pytest
import yaml

sys.path.insert(0, str(Path(__file__).parent))  # pytest imports tests in importlib mode
from browser_helpers import PageProblems, new_context, offline_browser, serve_directory  # noqa: E402

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
SCREENSHOTS = ROOT / "_build" / "screenshots"
WIDTH = 1280  # the window width at which no code cell may need horizontal scrolling


def toc_pages():
    """The book's pages in ``_toc.yml`` order, as document names (``chapters/01_linear_factor_models``)."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    pages = [toc["root"]]
    for part in toc.get("parts", []):
        pages += [entry["file"] for entry in part["chapters"]]
    return pages


PAGES = toc_pages()
CHAPTERS = [page for page in PAGES if page.startswith("chapters/")]
NOTEBOOKS = [page for page in PAGES if (ROOT / f"{page}.ipynb").exists()]

# Everything a check needs from one page, gathered in one pass once MathJax has finished.
PAGE_SCRIPT = r"""() => {
  const article = document.querySelector('article') || document.body;
  const ignored = el => el.closest('pre, code, script, style, textarea, mjx-container');
  const rawTex = [];
  const walker = document.createTreeWalker(article, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    if (!node.parentElement || ignored(node.parentElement)) continue;
    const text = node.textContent;
    if (['\\(', '\\[', '$$'].some(d => text.includes(d))) rawTex.push(text.trim().slice(0, 80));
  }
  const maths = [...article.querySelectorAll('.math')];
  // a code cell's source and the widths of its code and of its printed outputs
  const cells = [...article.querySelectorAll('div.cell')].map(cell => {
    const input = cell.querySelector('.cell_input pre');
    const blocks = [...cell.querySelectorAll('pre')].map(pre => ({
      part: input === pre ? 'code' : 'output', text: pre.innerText,
      scrollWidth: pre.scrollWidth, clientWidth: pre.clientWidth}));
    return {source: input ? input.innerText : '', blocks};
  });
  // display equations, with their TeX source (MathJax keeps it) and their widths
  const texOf = new Map();
  if (window.MathJax && MathJax.startup && MathJax.startup.document) {
    for (const item of MathJax.startup.document.math) texOf.set(item.typesetRoot, item.math);
  }
  const displays = [...article.querySelectorAll('div.math')].map(div => {
    // MathJax's container scrolls (overflow-x: auto) when the equation is wider than the column
    const root = div.querySelector('mjx-container') || div;
    const widest = root.scrollWidth - root.clientWidth >= div.scrollWidth - div.clientWidth ? root : div;
    return {tex: texOf.get(root) || div.textContent, number: (div.querySelector('.eqno') || {}).innerText || '',
            scrollWidth: widest.scrollWidth, clientWidth: widest.clientWidth};
  });
  return {
    title: (article.querySelector('h1') || {}).innerText || '',
    mathjaxVersion: (window.MathJax && MathJax.version) || null,
    rawTex,
    maths: maths.length,
    untypeset: maths.filter(m => !m.querySelector('mjx-container')).map(m => m.textContent.slice(0, 80)),
    mathErrors: [...article.querySelectorAll('mjx-merror, [data-mjx-error]')].map(
      e => e.getAttribute('data-mjx-error') || e.textContent.slice(0, 80)),
    images: [...article.querySelectorAll('img')].map(img => ({
      src: img.getAttribute('src'), complete: img.complete,
      naturalWidth: img.naturalWidth, naturalHeight: img.naturalHeight})),
    citations: [...article.querySelectorAll('.bibtex-citation')].map(c => ({
      text: c.innerText, hrefs: [...c.querySelectorAll('a')].map(a => a.href)})),
    bibliography: [...document.querySelectorAll('[role="doc-biblioentry"][id]')].map(e => e.id),
    launch: [...document.querySelectorAll('.dropdown-launch-buttons a')].map(a => a.href),
    cells,
    displays,
  };
}"""

# Waits for MathJax's first typesetting pass and for the web fonts; says what it found.
MATHJAX_READY = """async () => {
  if (!window.MathJax || !MathJax.startup || !MathJax.startup.promise) return 'MathJax did not load';
  await MathJax.startup.promise;
  await document.fonts.ready;
  return 'ok';
}"""


def page_name(url, base):
    """The document name of a URL of the served book (``references`` for ``.../references.html``)."""
    path = urlparse(url).path[len(urlparse(base).path):].lstrip("/")
    return path[:-len(".html")] if path.endswith(".html") else path


class Site:
    """The built book, served and opened in Chromium; :meth:`visit` loads each page once."""

    def __init__(self, browser, base, screenshots=SCREENSHOTS):
        self.browser, self.base, self.screenshots = browser, base, Path(screenshots)
        self._reports = {}

    def visit(self, page):
        """Load ``page`` (a document name such as ``chapters/01_linear_factor_models``) and report on it."""
        if page in self._reports:
            return self._reports[page]
        blocked = []
        context = new_context(self.browser, blocked)
        tab = context.new_page()
        problems = PageProblems(tab)
        tab.goto(f"{self.base}/{page}.html", wait_until="load")
        mathjax = tab.evaluate(MATHJAX_READY)
        report = tab.evaluate(PAGE_SCRIPT)
        self.screenshots.mkdir(parents=True, exist_ok=True)
        report["screenshot"] = self.screenshots / (page.replace("/", "__") + ".png")
        tab.screenshot(path=report["screenshot"], full_page=True, animations="disabled")  # no sidebar mid-slide
        context.close()
        report.update(page=page, mathjax=mathjax, blocked=blocked, errors=problems.errors)
        self._reports[page] = report
        return report

    def search(self, term):
        """``(pages, problems)``: the document names the search page lists for ``term``, and what went wrong."""
        blocked = []
        context = new_context(self.browser, blocked)
        tab = context.new_page()
        problems = PageProblems(tab)
        tab.goto(f"{self.base}/search.html?q={term}", wait_until="load")
        tab.wait_for_function("() => /found|match/i.test("
                              "(document.querySelector('#search-results .search-summary') || {}).innerText || '')",
                              timeout=15_000)
        hrefs = tab.eval_on_selector_all("#search-results ul.search li a", "links => links.map(a => a.href)")
        context.close()
        pages = sorted({page_name(href.split("#")[0], self.base) for href in hrefs})
        return pages, problems.errors + [f"tried to reach the network: {url}" for url in blocked]


def build_book():
    """Build the HTML book into ``_build/html`` (incremental) and fail with Sphinx's output if it breaks."""
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    result = subprocess.run([str(jupyter_book), "build", "--warningiserror", "--keep-going", str(ROOT)],
                            cwd=ROOT, capture_output=True, text=True, timeout=900)
    if result.returncode != 0:
        pytest.fail(f"the book does not build:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
    return HTML


@pytest.fixture(scope="module")
def browser():
    """A headless Chromium for this module's tests."""
    with offline_browser() as browser:
        yield browser


@pytest.fixture(scope="module")
def site(browser):
    """The freshly built book (or the one at $DGM_BOOK_HTML), served on localhost, opened in Chromium."""
    html = Path(os.environ["DGM_BOOK_HTML"]) if os.environ.get("DGM_BOOK_HTML") else build_book()
    with serve_directory(html) as base:
        yield Site(browser, base)


# The checks: each takes a page's report and returns a list of problems (empty when all is well).

def loading_problems(report):
    """JavaScript errors, console errors, failed requests and requests that tried to leave localhost."""
    return report["errors"] + [f"tried to reach the network: {url}" for url in report["blocked"]]


def maths_problems(report):
    """Equations that MathJax did not typeset, or typeset as errors, and TeX left raw in the text."""
    problems = []
    if report["maths"] and report["mathjax"] != "ok":
        problems.append(f"{report['mathjax']} (the page has {report['maths']} equations)")
    problems += [f"equation not typeset: {tex!r}" for tex in report["untypeset"]]
    problems += [f"MathJax error: {error!r}" for error in report["mathErrors"]]
    problems += [f"raw TeX in the text: {text!r}" for text in report["rawTex"]]
    return problems


def figure_problems(report):
    """Images that did not load or have no size."""
    return [f"image not loaded: {img['src']}" for img in report["images"]
            if not (img["complete"] and img["naturalWidth"] > 0 and img["naturalHeight"] > 0)]


def citation_problems(report, site):
    """Citations without a link, or whose link does not land on an entry of a bibliography."""
    problems = []
    for citation in report["citations"]:
        if not citation["hrefs"]:
            problems.append(f"citation {citation['text']!r} links nowhere")
        for href in citation["hrefs"]:
            target, _, anchor = href.partition("#")
            entries = site.visit(page_name(target, site.base))["bibliography"]
            if anchor not in entries:
                problems.append(f"citation {citation['text']!r} links to {href}, which is no bibliography entry")
    return problems


def launch_problems(report):
    """A notebook page without its Binder and Colab launch buttons for its own notebook."""
    launch = report["launch"]
    notebook = report["page"] + ".ipynb"
    return [f"no {name} launch button for {notebook} (launch links: {launch})"
            for name, host in [("Binder", "mybinder.org"), ("Colab", "colab.research.google.com")]
            if not any(host in href and notebook in href for href in launch)]


def notebook_cell_index(page, source):
    """The index (0-based, among all the notebook's cells) of the code cell whose source is ``source``."""
    path = ROOT / f"{page}.ipynb"
    if path.exists():
        for index, cell in enumerate(nbformat.read(path, as_version=4).cells):
            if cell.cell_type == "code" and cell.source.strip() == source.strip():
                return index
    return "?"


def code_width_problems(report):
    """Code cells whose code or printed output needs horizontal scrolling, each named precisely enough to fix."""
    problems = []
    for cell in report["cells"]:
        for block in cell["blocks"]:
            if block["scrollWidth"] > block["clientWidth"]:
                widest = max(block["text"].splitlines() or [""], key=len)
                index = notebook_cell_index(report["page"], cell["source"])
                problems.append(
                    f"{report['page']} cell {index} ({block['part']}): needs {block['scrollWidth']} px, "
                    f"shows {block['clientWidth']} px; its longest line ({len(widest)} characters) "
                    f"starts {widest[:60]!r}")
    return problems


def equation_width_problems(report):
    """Display equations wider than the text column (cut off at the right, to be scrolled)."""
    return [f"{report['page']} equation {display['number'] or '(unnumbered)'}: needs {display['scrollWidth']} px, "
            f"shows {display['clientWidth']} px; it starts {display['tex'].strip()[:60]!r}"
            for display in report["displays"] if display["scrollWidth"] > display["clientWidth"]]


def search_problems(site, page, term):
    """The search page does not list ``page`` among its results for ``term``."""
    found, problems = site.search(term)
    return problems + ([] if page in found else [f"searching {term!r} does not find {page} (it finds {found})"])


def title_term(title):
    """A word of a chapter's title to search for: its longest word (the first, if several)."""
    words = "".join(ch if ch.isalpha() else " " for ch in title).split()
    return max(words, key=len).lower()


# The tests.

@pytest.mark.parametrize("page", PAGES)
def test_page_loads_offline_without_errors(site, page):
    problems = loading_problems(site.visit(page))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("page", PAGES)
def test_every_equation_is_typeset(site, page):
    report = site.visit(page)
    problems = maths_problems(report)
    assert not problems, "\n".join(problems)
    if report["maths"]:
        assert report["mathjaxVersion"].startswith("3."), report["mathjaxVersion"]


@pytest.mark.parametrize("page", PAGES)
def test_no_equation_needs_horizontal_scrolling(site, page):
    problems = equation_width_problems(site.visit(page))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("page", PAGES)
def test_every_figure_is_a_loaded_image(site, page):
    problems = figure_problems(site.visit(page))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("page", PAGES)
def test_every_citation_links_to_the_bibliography(site, page):
    problems = citation_problems(site.visit(page), site)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("page", NOTEBOOKS)
def test_notebook_pages_have_launch_buttons(site, page):
    problems = launch_problems(site.visit(page))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("page", NOTEBOOKS)
def test_no_code_cell_needs_horizontal_scrolling(site, page):
    problems = code_width_problems(site.visit(page))
    assert not problems, f"{len(problems)} code blocks are wider than the page at {WIDTH} px:\n" + "\n".join(problems)


@pytest.mark.parametrize("page", CHAPTERS)
def test_search_finds_each_chapter(site, page):
    term = title_term(site.visit(page)["title"])
    problems = search_problems(site, page, term)
    assert not problems, "\n".join(problems)


def test_the_book_has_equations_citations_and_figures(site):
    """Guards the checks above against passing vacuously (a page that lost all its maths, say)."""
    reports = [site.visit(page) for page in CHAPTERS]
    assert all(report["maths"] > 0 for report in reports), [(r["page"], r["maths"]) for r in reports]
    assert sum(len(report["images"]) for report in reports) > 0
    assert sum(len(report["citations"]) for report in reports) > 0
    assert site.visit("references")["bibliography"], "the references page lists no entries"
    assert all(report["screenshot"].stat().st_size > 0 for report in reports)


# The checks can fail: a page with one of each fault a reader could meet.

BROKEN_PAGE = r"""<!DOCTYPE html>
<html><head>
<script>window.MathJax = {"options": {"processHtmlClass": "tex2jax_process|mathjax_process|math|output_area"}}</script>
<script defer src="_static/mathjax/tex-mml-chtml.js"></script>
<script src="https://cdn.example.org/remote.js"></script>
<script>notDefinedAnywhere();</script>
</head><body><article style="width: 600px">
<h1>A broken page</h1>
<p>Raw maths that the parser left: $$x^2 with no closing dollars.</p>
<p>An equation with a TeX error: <span class="math">\(x^1^2\)</span>.</p>
<div class="math">\[ a_1 + a_2 + a_3 + a_4 + a_5 + a_6 + a_7 + a_8 + a_9 + a_{10} + a_{11} + a_{12} + a_{13} + a_{14}
   + a_{15} + a_{16} + a_{17} + a_{18} + a_{19} + a_{20} + a_{21} + a_{22} + a_{23} + a_{24} + a_{25} \]</div>
<img src="missing.png" alt="a figure that is not there">
<p>Citations: <span class="bibtex-citation">[<a href="references.html#nobody">Nobody, 2000</a>]</span>,
<span class="bibtex-citation">[Unlinked, 2001]</span>.</p>
<div class="cell" style="width: 600px"><div class="cell_input"><pre style="overflow-x: auto">x = 1  # a comment that goes on and on, far past the eighty characters that fit in the column</pre></div>
<div class="cell_output"><pre style="overflow-x: auto">an output line that goes on and on, far past the eighty characters that fit in the column</pre></div></div>
</article></body></html>
"""

# The page as the book was before MathJax was served locally: MathJax from a CDN, unreachable offline.
CDN_MATHJAX_PAGE = r"""<!DOCTYPE html>
<html><head><script defer src="https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-mml-chtml.js"></script></head>
<body><article><h1>Maths from a CDN</h1><p>Inline <span class="math">\(\log Z\)</span>.</p></article></body></html>
"""

REFERENCES_PAGE = """<!DOCTYPE html><html><body><article><h1>References</h1>
<div role="doc-biblioentry" id="somebody">Somebody. A paper. 1999.</div></article></body></html>
"""


def test_checks_catch_a_broken_page(browser, site, tmp_path):
    """Each check reports the fault it is for, on pages made to have it (so none passes vacuously)."""
    (tmp_path / "broken.html").write_text(BROKEN_PAGE)
    (tmp_path / "cdn.html").write_text(CDN_MATHJAX_PAGE)
    (tmp_path / "references.html").write_text(REFERENCES_PAGE)
    (tmp_path / "_static").symlink_to(HTML / "_static")  # the book's own MathJax
    with serve_directory(tmp_path) as base:
        broken_site = Site(browser, base, screenshots=tmp_path / "screenshots")
        broken, cdn = broken_site.visit("broken"), broken_site.visit("cdn")
        assert broken["mathjax"] == "ok"  # MathJax itself works on the broken page

        def joined(problems):
            assert problems, "the check found nothing"
            return "\n".join(problems)

        loading = joined(loading_problems(broken))
        assert "notDefinedAnywhere" in loading and "https://cdn.example.org/remote.js" in loading
        assert "missing.png" in loading  # the 404 too
        maths = joined(maths_problems(broken))
        assert "raw TeX in the text" in maths and "MathJax error" in maths
        assert "a_1 + a_2" in joined(equation_width_problems(broken))
        assert "missing.png" in joined(figure_problems(broken))
        citations = joined(citation_problems(broken, broken_site))
        assert "Nobody, 2000" in citations and "Unlinked, 2001" in citations
        assert "Binder" in joined(launch_problems(broken)) and "Colab" in joined(launch_problems(broken))
        widths = joined(code_width_problems(broken))
        assert "(code)" in widths and "(output)" in widths and "a comment that goes on" in widths

        cdn_maths = joined(maths_problems(cdn))
        assert "MathJax did not load" in cdn_maths and "equation not typeset" in cdn_maths
        assert "cdn.jsdelivr.net" in joined(loading_problems(cdn))
    assert "zzqxjvw" in joined(search_problems(site, "chapters/00_introduction", "zzqxjvw"))
