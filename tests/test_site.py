"""The static site (``diffcourse.site``): built from the stored outputs, complete and offline.

The unmarked tests build the site once (a few seconds) and read its files; the ``browser`` test
opens two pages in headless Chromium and checks that MathJax, served from the site, typeset
the mathematics and that nothing was fetched from anywhere but the site.
"""

import html.parser
import json
import pathlib
import re

import nbformat
import pytest

from diffcourse import site

ROOT = pathlib.Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
FIGURES = sorted(p for p in (ROOT / "figures").iterdir() if p.suffix in site.FIGURE_SUFFIXES)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("site") / "site"
    index = site.build(out)
    assert index == out / "index.html"
    return out


class _Refs(html.parser.HTMLParser):
    """Every URL a page loads (scripts, styles, images, frames) and every link it offers."""

    def __init__(self):
        super().__init__()
        self.loads, self.links, self.headings = [], [], []
        self._in_h1 = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in ("script", "img", "iframe", "audio", "video", "source", "embed") and a.get("src"):
            self.loads.append(a["src"])
        if tag == "link" and a.get("href"):
            self.loads.append(a["href"])
        if tag == "object" and a.get("data"):
            self.loads.append(a["data"])
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])


def _refs(path):
    parser = _Refs()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def _local(out, page, url):
    """The file a relative URL of ``page`` names inside the site (None for data: URIs)."""
    if url.startswith("data:"):
        return None
    assert not re.match(r"^([a-z]+:)?//", url, re.I), f"{page.name} loads {url} from the network"
    return (page.parent / url.split("?")[0].split("#")[0]).resolve()


def test_every_notebook_has_a_page_titled_by_its_heading(built):
    index = _refs(built / "index.html")
    for path in NOTEBOOKS:
        page = built / (path.stem + ".html")
        assert page.is_file(), path.name
        title = site.notebook_title(nbformat.read(path, as_version=4), path.stem)
        assert title.startswith(path.name[:2]), title  # "NN · ..." from the first heading
        assert f"<title>{title}</title>" in page.read_text(encoding="utf-8").replace("&#39;", "'")
        assert page.name in index.links
        assert (built / "notebooks" / path.name).read_bytes() == path.read_bytes()
    assert len(list(built.glob("[0-9][0-9]_*.html"))) == len(NOTEBOOKS)


def test_every_figure_is_in_the_site_and_on_the_index(built):
    index = _refs(built / "index.html")
    assert FIGURES
    for fig in FIGURES:
        assert (built / "figures" / fig.name).read_bytes() == fig.read_bytes(), fig.name
        assert f"figures/{fig.name}" in index.loads
        assert f"figures/{fig.name}" in index.links


def test_pages_load_nothing_from_the_network_and_every_local_file_exists(built):
    pages = sorted(built.glob("*.html"))
    assert len(pages) == len(NOTEBOOKS) + 1
    for page in pages:
        text = page.read_text(encoding="utf-8")
        for url in _refs(page).loads:
            local = _local(built, page, url)
            assert local is None or local.is_file(), f"{page.name}: {url} is not in the site"
        # CSS and scripts inlined in the page: no @import or url() of a remote file, no import()
        for m in re.finditer(r"(@import|url\(|import\()\s*['\"]?\s*((https?:)?//[^'\")\s]+)", text):
            pytest.fail(f"{page.name} fetches {m.group(2)}")
        assert "cdnjs" not in text and "unpkg" not in text and "jsdelivr" not in text, page.name


def test_mathjax_is_served_from_the_site(built):
    mathjax = built / site.STATIC / "mathjax"
    config = site.MATHJAX_CONFIG.split(",")
    for name in ("MathJax.js", *(f"config/{c}.js" for c in config), "extensions/Safe.js"):
        assert (mathjax / name).is_file(), name
    assert (mathjax / "jax/output/HTML-CSS/fonts/STIX-Web/fontdata.js").is_file()
    assert list((mathjax / "fonts/HTML-CSS/STIX-Web/woff").glob("*.woff"))
    for path in NOTEBOOKS:
        text = (built / (path.stem + ".html")).read_text(encoding="utf-8")
        assert f'src="{site.STATIC}/mathjax/MathJax.js?config={site.MATHJAX_CONFIG}"' in text


def test_widgets_become_their_stored_figures(built):
    """An ``interact`` output is shown as the figure its Output widget stored, under a note."""
    with_widgets = [
        p for p in NOTEBOOKS if "widgets" in json.loads(p.read_text(encoding="utf-8"))["metadata"]
    ]
    assert with_widgets  # notebooks 01, 03, 04, 06, 07 have sliders
    for path in with_widgets:
        nb = nbformat.read(path, as_version=4)
        n_widgets = site.freeze_widgets(nb)
        assert n_widgets >= 1 and "widgets" not in nb.metadata
        mimes = [m for c in nb.cells for o in c.get("outputs", []) for m in o.get("data", {})]
        assert site.WIDGET_VIEW not in mimes
        text = (built / (path.stem + ".html")).read_text(encoding="utf-8")
        assert text.count('class="dc-widget-note">An interactive figure (sliders:') == n_widgets
        assert "widget-view+json" not in text and "widget-state+json" not in text


def test_a_folder_with_other_files_is_refused(tmp_path):
    (tmp_path / "thesis.tex").write_text("keep me")
    with pytest.raises(ValueError, match="not empty"):
        site.build(tmp_path, notebooks=[NOTEBOOKS[0].name])
    assert (tmp_path / "thesis.tex").read_text() == "keep me"


def test_a_rebuild_replaces_the_earlier_site(tmp_path):
    out = tmp_path / "site"
    site.build(out, notebooks=[NOTEBOOKS[0].name, NOTEBOOKS[2].name])
    site.build(out, notebooks=[NOTEBOOKS[0].name])
    assert sorted(p.name for p in out.glob("*.html")) == [NOTEBOOKS[0].stem + ".html", "index.html"]
    assert sorted(p.name for p in (out / "notebooks").iterdir()) == [NOTEBOOKS[0].name]


@pytest.mark.browser
@pytest.mark.parametrize("name", ["01_heat_equation", "04_score_identity"])
def test_mathematics_is_typeset_in_chromium(built, name):
    import browser

    with browser.serve(built) as url, browser.chromium() as context:
        page = context.new_page()
        requests, failed = [], []
        page.on("request", lambda r: requests.append(r.url))
        page.on(
            "response",
            lambda r: (
                failed.append(r.url)
                if r.status >= 400
                and r.request.resource_type in ("script", "stylesheet", "document")
                else None
            ),
        )
        page.goto(f"{url}/{name}.html")
        page.wait_for_function("() => window.MathJax && window.MathJax.Hub", timeout=30_000)
        # a callback queued behind the typesetting runs once every formula is done
        page.evaluate("() => new Promise(done => MathJax.Hub.Queue(() => done(true)))")
        typeset = page.locator(".MathJax, .MathJax_Display").count()
        errors = page.locator(".MathJax_Error, .merror").count()
        # the Markdown cells as rendered (code cells hold TeX in plot labels, legitimately)
        text = "\n".join(page.locator(".jp-RenderedMarkdown").all_inner_texts())
        page.close()
    assert typeset >= 20, f"{name}: only {typeset} typeset formulas"
    assert errors == 0, f"{name}: {errors} MathJax errors"
    for raw in ("$$", "\\(", "\\[", "\\frac", "\\nabla"):
        assert raw not in text, f"{name}: raw {raw!r} left in the rendered text"
    assert not re.search(r"\$[^$\n]{1,80}\$", text), f"{name}: raw inline $...$ left"
    remote = [
        u for u in requests if not u.startswith(url) and not u.startswith(("data:", "about:"))
    ]
    assert not remote, f"{name} fetched {remote}"
    assert not failed, f"{name}: not found in the site: {failed}"
