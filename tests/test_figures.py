"""The README's gallery and the figures command.

Every image the README links must exist in ``figures/``, and every figure the figures command
writes must be in ``figures/`` under the same name. Regenerating every figure
(``python -m diffcourse figures``) must give the committed files byte for byte: the figures are
drawn from fixed seeds, so a figure that changes means the code behind it changed. That last check
regenerates all of them (about 1.5 minutes), so it is marked ``course`` and runs in ``.ci/run``
after the README's test command.
"""

import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
FIGURES = ROOT / "figures"
LINK = re.compile(r"""(?:\]\(|src=["'])(figures/[^)"'\s]+)""")


def _readme_images():
    return sorted(set(LINK.findall((ROOT / "README.md").read_text())))


def test_every_image_the_readme_links_exists():
    images = _readme_images()
    assert len(images) >= 16, images  # the gallery: at least one figure for notebooks 01-10
    missing = [p for p in images if not (ROOT / p).is_file()]
    assert not missing, f"the README links images that figures/ lacks: {missing}"


def test_the_link_pattern_finds_markdown_and_html_images():
    text = '![a](figures/a.png) and <img src="figures/b.gif" width=3> but not (other/c.png)'
    assert LINK.findall(text) == ["figures/a.png", "figures/b.gif"]


def test_the_gallery_has_a_figure_from_every_notebook_with_figures():
    """Each notebook from 01 on is represented by a figure of its module in the gallery."""
    prefixes = {
        "01": "heat_",
        "02": "random_walk_",
        "03": "fokker_planck_",
        "04": "populations_",
        "05": "reverse_",
        "06": "elbo_",
        "07": "losses_",
        "08": "samplers_",
        "09": "guidance_",
        "10": "flow_",
    }
    names = [pathlib.Path(p).name for p in _readme_images()]
    lacking = [nb for nb, pre in prefixes.items() if not any(n.startswith(pre) for n in names)]
    assert not lacking, f"no gallery figure for notebooks {lacking}"


@pytest.mark.course
def test_the_figures_command_rewrites_every_committed_figure_byte_for_byte(tmp_path):
    from diffcourse import plotting

    written = [pathlib.Path(p) for p in plotting.make_all_figures(tmp_path)]
    names = sorted(p.name for p in written)
    committed = sorted(p.name for p in FIGURES.iterdir() if p.is_file())
    assert names == committed, (
        f"written but not committed: {sorted(set(names) - set(committed))}; "
        f"committed but not written: {sorted(set(committed) - set(names))}"
    )
    changed = [p.name for p in written if p.read_bytes() != (FIGURES / p.name).read_bytes()]
    assert not changed, f"regenerated figures differ from the committed ones: {changed}"
