"""The course as a static website, built offline from the notebooks' stored outputs.

``python -m diffcourse site [--out DIR]`` (or :func:`build`) writes one HTML page per notebook,
an index page (titles from each notebook's first heading, then the figure gallery), the figures
of ``figures/`` and the notebooks themselves for download. Nothing is executed: the pages show
the outputs stored in the notebooks, which nbval checks.

The pages are nbconvert's ``HTMLExporter`` with its JupyterLab template (the same look as the
notebook in JupyterLab, CSS inlined, images embedded as data URIs). Nothing is fetched from the
network at build or view time: MathJax 2.7 is copied into the site from the pinned
``jupyter-server-mathjax`` package and the template's CDN scripts (require.js, mermaid, the
widget manager) are left out. An ipywidgets ``interact`` output cannot run without a kernel, so
it is replaced by the output its ``Output`` widget stored (the figure at the sliders' defaults)
under a note naming the sliders.
"""

from __future__ import annotations

import argparse
import html
import pathlib
import re
import shutil
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
MATHJAX_CONFIG = "TeX-AMS-MML_HTMLorMML-full,Safe"
STATIC = "_static"
MARKER = ".diffcourse-site"  # marks a folder this module wrote, so a rebuild may clear its parts
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
FIGURE_SUFFIXES = (".png", ".gif", ".jpg", ".jpeg", ".svg")

# The lab template with the CDN scripts removed and a navigation bar added. The MathJax of
# jupyter-server-mathjax carries the STIX-Web fonts only (as the classic notebook set it up).
_TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{% block jupyter_widgets %}{% endblock jupyter_widgets %}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block html_head_js_mathjax -%}
<script type="text/x-mathjax-config">
MathJax.Hub.Config({"HTML-CSS": {availableFonts: [], preferredFont: null, webFont: "STIX-Web",
  imageFont: null, linebreaks: {automatic: true}}});
</script>
{{ super() }}
{%- endblock html_head_js_mathjax -%}
{% block extra_css %}<style type="text/css">{{ resources.dc_css }}</style>{% endblock extra_css %}
{%- block body_header -%}
{{ super() }}
<nav class="dc-nav">{{ resources.dc_nav }}</nav>
{%- endblock body_header -%}
{% block body_footer %}
<nav class="dc-nav">{{ resources.dc_nav }}</nav>
{{ super() }}
{% endblock body_footer %}
"""

_CSS = """
.dc-nav { display: flex; gap: 1.5em; padding: 0.6em 1em; margin: 0 0 1em 0;
  border-bottom: 1px solid #ddd; font-family: var(--jp-ui-font-family, sans-serif); }
.dc-nav a { text-decoration: none; }
.dc-widget-note { font-style: italic; color: #555; margin: 0.2em 0; }
"""

_INDEX_CSS = """
body { font-family: system-ui, sans-serif; max-width: 62em; margin: 2em auto; padding: 0 1em;
  line-height: 1.5; color: #222; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 2em; }
ol.notebooks { padding-left: 0; list-style: none; } ol.notebooks li { margin: 0.35em 0; }
.gallery { display: grid; grid-template-columns: repeat(auto-fill, minmax(14em, 1fr)); gap: 1em; }
.gallery figure { margin: 0; } .gallery img { width: 100%; border: 1px solid #ddd; }
.gallery figcaption { font-size: 0.85em; word-break: break-all; }
"""


def mathjax_dir() -> pathlib.Path:
    """The MathJax 2.7 files of the pinned ``jupyter-server-mathjax`` package."""
    try:
        import jupyter_server_mathjax
    except ImportError as err:  # pragma: no cover - a requirement of the course
        raise RuntimeError(
            "the site needs MathJax from the jupyter-server-mathjax package "
            "(pip install -r requirements.txt)"
        ) from err
    path = pathlib.Path(jupyter_server_mathjax.__file__).parent / "static"
    if not (path / "MathJax.js").is_file():  # pragma: no cover
        raise RuntimeError(f"no MathJax.js in {path}")
    return path


def notebook_title(nb, fallback: str) -> str:
    """The text of the notebook's first Markdown heading (``fallback`` when it has none)."""
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        for line in cell.source.splitlines():
            m = re.match(r"\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$", line)
            if m:
                return m.group(1)
    return fallback


def _widget_children(state: dict, model_id: str, seen: set):
    """Depth-first walk of a widget and its children in the stored widget state."""
    if model_id in seen or model_id not in state:
        return
    seen.add(model_id)
    model = state[model_id]
    yield model
    for child in model.get("state", {}).get("children", []) or []:
        if isinstance(child, str) and child.startswith("IPY_MODEL_"):
            yield from _widget_children(state, child[len("IPY_MODEL_") :], seen)


def freeze_widgets(nb) -> int:
    """Replace each widget output by its stored ``Output`` widget outputs; return how many.

    The widget state is dropped from the metadata, so no page asks for a widget manager.
    """
    import nbformat

    state = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    replaced = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        outputs = []
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if WIDGET_VIEW not in data:
                outputs.append(out)
                continue
            replaced += 1
            models = list(_widget_children(state, data[WIDGET_VIEW].get("model_id", ""), set()))
            controls = [
                m["state"]["description"]
                for m in models
                if m.get("model_name", "").endswith("SliderModel") and m["state"].get("description")
            ]
            stored = [
                o
                for m in models
                if m.get("model_name") == "OutputModel"
                for o in m["state"].get("outputs", [])
            ]
            if stored:
                note = "An interactive figure"
                if controls:
                    note += " (sliders: " + ", ".join(html.escape(c) for c in controls) + ")"
                note += "; shown here at its default values: run the notebook to move them."
            else:
                note = "An interactive widget: run the notebook in JupyterLab to use it."
            note = f'<p class="dc-widget-note">{note}</p>'
            outputs.append(nbformat.v4.new_output("display_data", data={"text/html": note}))
            outputs.extend(nbformat.from_dict(o) for o in stored)
        cell.outputs = outputs
    nb.metadata.pop("widgets", None)
    return replaced


def _exporter():
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        extra_loaders=[DictLoader({"diffcourse_site.html.j2": _TEMPLATE})],
        template_file="diffcourse_site.html.j2",
    )
    exporter.mathjax_url = f"{STATIC}/mathjax/MathJax.js?config={MATHJAX_CONFIG}"
    # The template passes every code cell's highlighted source and every Markdown cell through
    # bleach; these are the course's own notebooks, and the sanitizer takes most of the build's
    # time (about 2/3), so it is switched off.
    exporter.register_filter("clean_html", _trusted)
    return exporter


def _trusted(text):
    return text.decode() if isinstance(text, bytes) else str(text)


def _link(href: str, text: str) -> str:
    return f'<a href="{html.escape(href)}">{html.escape(text)}</a>'


def _clear_own(out: pathlib.Path) -> None:
    """Remove what an earlier build wrote into ``out`` (only when ``out`` carries the marker)."""
    if not (out / MARKER).is_file():
        return
    for name in (STATIC, "figures", "notebooks"):
        if (out / name).is_dir():
            shutil.rmtree(out / name)
    for page in out.glob("*.html"):
        page.unlink()


def build(
    out_dir="build/site",
    notebooks_dir=None,
    figures_dir=None,
    notebooks=None,
) -> pathlib.Path:
    """Build the course website into ``out_dir``; return the path of its ``index.html``.

    ``notebooks_dir`` and ``figures_dir`` default to the repository's ``notebooks/`` and
    ``figures/``; ``notebooks`` restricts the pages to those file names (default: every
    ``NN_*.ipynb``). A folder that holds something other than an earlier site is refused.
    """
    import nbformat

    out = pathlib.Path(out_dir)
    nb_dir = pathlib.Path(notebooks_dir) if notebooks_dir is not None else ROOT / "notebooks"
    fig_dir = pathlib.Path(figures_dir) if figures_dir is not None else ROOT / "figures"
    paths = sorted(nb_dir.glob("[0-9][0-9]_*.ipynb"))
    if notebooks is not None:
        wanted = set(notebooks)
        paths = [p for p in paths if p.name in wanted]
    if not paths:
        raise ValueError(f"no notebooks NN_*.ipynb in {nb_dir}")
    if out.exists() and any(out.iterdir()) and not (out / MARKER).is_file():
        raise ValueError(f"{out} is not empty and holds no earlier site: choose an empty folder")
    out.mkdir(parents=True, exist_ok=True)
    _clear_own(out)
    (out / MARKER).write_text("written by python -m diffcourse site\n")

    shutil.copytree(mathjax_dir(), out / STATIC / "mathjax")
    figures = sorted(p for p in fig_dir.glob("*") if p.suffix.lower() in FIGURE_SUFFIXES)
    (out / "figures").mkdir()
    for fig in figures:
        shutil.copy2(fig, out / "figures" / fig.name)
    (out / "notebooks").mkdir()

    nbs = [nbformat.read(p, as_version=4) for p in paths]
    titles = [notebook_title(nb, p.stem) for nb, p in zip(nbs, paths, strict=True)]
    pages = [p.stem + ".html" for p in paths]
    exporter = _exporter()
    for i, (path, nb) in enumerate(zip(paths, nbs, strict=True)):
        shutil.copy2(path, out / "notebooks" / path.name)
        freeze_widgets(nb)
        nav = [_link("index.html", "Contents")]
        if i > 0:
            nav.append(_link(pages[i - 1], "← " + titles[i - 1]))
        if i + 1 < len(paths):
            nav.append(_link(pages[i + 1], titles[i + 1] + " →"))
        nav.append(_link(f"notebooks/{path.name}", "download the notebook"))
        resources = {
            "metadata": {"name": titles[i]},
            "dc_nav": " ".join(nav),
            "dc_css": _CSS,
        }
        body, _ = exporter.from_notebook_node(nb, resources=resources)
        (out / pages[i]).write_text(body, encoding="utf-8")

    index = out / "index.html"
    index.write_text(_index_html(list(zip(pages, titles, strict=True)), figures), encoding="utf-8")
    return index


def _index_html(pages, figures) -> str:
    items = "\n".join(f"<li>{_link(page, title)}</li>" for page, title in pages)
    gallery = "\n".join(
        f'<figure><a href="figures/{html.escape(f.name)}"><img src="figures/{html.escape(f.name)}"'
        f' alt="{html.escape(f.stem)}" loading="lazy"></a>'
        f"<figcaption>{html.escape(f.name)}</figcaption></figure>"
        for f in figures
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>diffcourse: the mathematics of diffusion</title>
<style>{_INDEX_CSS}</style>
</head>
<body>
<h1>diffcourse: the mathematics of diffusion, from the heat equation to a JAX DDPM</h1>
<p>The course's notebooks with their stored outputs. To run them, clone the repository and
open them in JupyterLab (the README's first command); each page links its notebook.</p>
<h2>Notebooks</h2>
<ol class="notebooks">
{items}
</ol>
<h2 id="figures">Figures</h2>
<p>Every figure in <code>figures/</code>, regenerated by <code>python -m diffcourse figures</code>.</p>
<div class="gallery">
{gallery}
</div>
</body>
</html>
"""


def main(argv=None) -> int:
    """``python -m diffcourse.site [--out DIR]``: build the site and print its index page."""
    parser = argparse.ArgumentParser(prog="python -m diffcourse site", description=__doc__)
    parser.add_argument("--out", default="build/site", help="output folder (default: build/site)")
    args = parser.parse_args(argv)
    try:
        index = build(args.out)
    except ValueError as err:
        print(f"{parser.prog}: error: {err}", file=sys.stderr)
        return 2
    print(index)
    return 0


if __name__ == "__main__":
    sys.exit(main())
