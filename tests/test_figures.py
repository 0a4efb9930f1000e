"""The README's gallery and the figures command.

Every image the README links must exist in ``figures/``, and every figure the figures command
writes must be in ``figures/`` under the same name. Regenerating every figure
(``python -m diffcourse figures``) must give the committed files byte for byte, or (for a figure of a
trained model) to a stated pixel tolerance: the figures are drawn from fixed seeds, so a figure
that changes means the code behind it changed. That last check
regenerates all of them (about 1.5 minutes), so it is marked ``course`` and runs in ``.ci/run``
after the README's test command.
"""

import os
import pathlib
import re
import subprocess
import sys

import numpy as np
import pytest
from helpers import user_environment

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
    # the command itself, in its own process, as a user runs it: the tests' float64 setting and
    # compile-speed flag must not reach it
    env = user_environment(JAX_PLATFORMS="cpu")
    run = subprocess.run(
        [sys.executable, "-m", "diffcourse", "figures", "--out", str(tmp_path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    written = [pathlib.Path(p) for p in run.stdout.split()]
    names = sorted(p.name for p in written)
    committed = sorted(p.name for p in FIGURES.iterdir() if p.is_file())
    assert names == committed, (
        f"written but not committed: {sorted(set(names) - set(committed))}; "
        f"committed but not written: {sorted(set(committed) - set(names))}"
    )
    changed = [p.name for p in written if not _same_picture(p, FIGURES / p.name)]
    assert not changed, f"regenerated figures differ from the committed ones: {changed}"


def _same_picture(a, b, *, mean_tol=1e-3, pixel_tol=0.1, fraction_tol=1e-3) -> bool:
    """The same bytes, or (a figure drawn from a trained model, whose float32 sums may round
    differently on another CPU) the same size with a mean absolute pixel difference below
    ``mean_tol`` and at most ``fraction_tol`` of the pixel values off by more than ``pixel_tol``
    (pixel values in [0, 1])."""
    if a.read_bytes() == b.read_bytes():
        return True
    import matplotlib.image

    x, y = matplotlib.image.imread(a), matplotlib.image.imread(b)
    if x.shape != y.shape:
        return False
    x, y = np.asarray(x, float), np.asarray(y, float)
    if x.max() > 1 or y.max() > 1:  # 8-bit images (GIF frames) read as integers
        x, y = x / 255, y / 255
    diff = np.abs(x - y)
    return bool(diff.mean() < mean_tol and (diff > pixel_tol).mean() <= fraction_tol)


def test_same_picture_tells_a_rounding_from_a_change(tmp_path):
    import matplotlib.pyplot as plt

    def draw(path, shift):
        fig, ax = plt.subplots(figsize=(2, 2))
        ax.plot([0, 1], [0, 1 + shift])
        fig.savefig(path)
        plt.close(fig)

    draw(tmp_path / "a.png", 0.0)
    draw(tmp_path / "b.png", 0.0)
    draw(tmp_path / "c.png", 0.5)
    assert _same_picture(tmp_path / "a.png", tmp_path / "b.png")
    assert not _same_picture(tmp_path / "a.png", tmp_path / "c.png")


def test_user_environment_gives_back_the_users_xla_flags(monkeypatch):
    # the suite compiles with its own flag (conftest.py); a user's run gets only the user's flags
    assert "--xla_cpu_use_fusion_emitters=false" in os.environ["XLA_FLAGS"]
    monkeypatch.setenv("DIFFCOURSE_USER_XLA_FLAGS", "--xla_cpu_enable_fast_math=false")
    env = user_environment(A="1")
    assert env["XLA_FLAGS"] == "--xla_cpu_enable_fast_math=false" and env["A"] == "1"
    assert "DIFFCOURSE_USER_XLA_FLAGS" not in env
    monkeypatch.setenv("DIFFCOURSE_USER_XLA_FLAGS", "")
    assert "XLA_FLAGS" not in user_environment()
