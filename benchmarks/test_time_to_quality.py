"""Smoke test of benchmarks/time_to_quality.py: the whole script at tiny settings, then its JSON.

Run in the benchmark venv (torch and diffusers), as ``.ci/run`` does:

    .venv-bench/bin/python -m pytest benchmarks/test_time_to_quality.py -p no:xdist -p no:cacheprovider -o addopts="" -q

The script runs in a subprocess (the repository's conftest.py turns on float64 in this process
and starts its XLA backend with other flags), marks 2 and 4 s, 64 samples, one
seed, ``--allow-load`` (the machine running the tests is rarely quiet), torch on 1 thread (on a
busy machine OpenMP's 2 threads collapse; the peer's speed is not under test), output in a
temporary folder. It checks the shape of the result: both contenders, the marks increasing,
every FD finite and positive, the reference rows, the time-to-quality fields. No timing is
asserted. Two tests in this process check the interpolation in log time and the refusal on a busy
machine without ``--allow-load`` (before anything is trained). The last test runs
``benchmarks/recipe_sweep.py`` the same way, two variants for three steps each.
"""

import json
import math
import os
import pathlib
import subprocess
import sys

import pytest

HERE = pathlib.Path(__file__).parent
SCRIPT = HERE / "time_to_quality.py"
MARKS = [2.0, 4.0]
ROWS = [
    "peer, DDIM 50 steps",
    "peer, DDPM 50 steps",
    "ours, DDPM 50 steps",
    "ours, DDIM 50 steps",
    "ours, DDIM 10 steps",
]
REFERENCES = ["training subset (floor)", "held-out real digits", "pixel Gaussian (no net)"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """The script's JSON and printed output at tiny settings."""
    out = tmp_path_factory.mktemp("ttq")
    argv = [sys.executable, str(SCRIPT), "--marks", *map(str, MARKS), "--n", "64", "--seeds", "1"]
    argv += ["--allow-load", "--torch-threads", "1", "--tag", "smoke", "--out-dir", str(out)]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-4000:]
    return json.loads((out / "time_to_quality_smoke.json").read_text()), proc.stdout, out


def finite_positive(x):
    return isinstance(x, float) and math.isfinite(x) and x > 0


def test_both_contenders_trained_to_the_marks(run):
    result, _, _ = run
    assert set(result["contenders"]) == {"peer", "ours"}
    for c in result["contenders"].values():
        snaps = c["snapshots"]
        assert [s["mark_s"] for s in snaps] == MARKS
        times = [s["train_s"] for s in snaps]
        assert all(b >= a for a, b in zip(times, times[1:], strict=False))
        assert all(t >= m for t, m in zip(times, MARKS, strict=True))
        assert c["steps"] >= snaps[-1]["steps"] >= 1
        assert finite_positive(c["first_step_s"]) and finite_positive(c["steps_per_s"])
        assert len(c["load_avg"]) == 3
    assert "1500 images" in result["meta"]["data"] and result["meta"]["batch_size"] == 128
    # ours runs the CLI's default cosine, which ends at a step measured before its clock started
    recipe = result["contenders"]["ours"]["recipe"]
    assert recipe["lr_decay"] == "cosine"
    assert recipe["total_steps"] == result["meta"]["ours_cosine_horizon"]
    assert recipe["total_steps"] > recipe["config"]["warmup"]


def test_every_fd_is_finite_and_positive(run):
    result, _, _ = run
    assert list(result["rows"]) == ROWS
    for row in result["rows"].values():
        assert [s["mark_s"] for s in row] == MARKS
        for s in row:
            fd, sd = s["scores"]["fd"]
            assert finite_positive(fd) and math.isfinite(sd) and sd >= 0
            assert 0 <= s["scores"]["memorised"][0] <= 1


def test_reference_rows(run):
    result, _, _ = run
    refs = result["references"]
    assert list(refs) == REFERENCES
    for row in refs.values():
        assert finite_positive(row["fd"][0])
        assert set(row) == {"fd", "confidence", "class_entropy", "memorised"}
    assert refs["training subset (floor)"]["memorised"][0] == 1.0  # training images themselves


def test_time_to_quality_fields(run):
    result, stdout, out = run
    ttq = result["time_to_quality"]
    assert set(ttq) == {"peer_fd_at_mark", "heldout_x1.2"}
    assert ttq["peer_fd_at_mark"]["mark_s"] == MARKS[-1]
    for target in ttq.values():
        assert finite_positive(target["target_fd"])
        assert list(target["seconds"]) == ROWS
        for seconds in target["seconds"].values():
            assert seconds == "not reached" or finite_positive(seconds)
        for ratio in target["ratio_ours_to_peer"].values():
            assert ratio == "n/a" or finite_positive(ratio)
    # the peer's better row reaches its own FD at the mark, by definition
    best = ttq["peer_fd_at_mark"]["peer_row"]
    assert best in ROWS[:2] and finite_positive(ttq["peer_fd_at_mark"]["seconds"][best])
    at_mark = [r[-1]["scores"]["fd"][0] for r in list(result["rows"].values())[:2]]
    assert ttq["peer_fd_at_mark"]["target_fd"] == min(at_mark)
    loaded = any(c["loaded"] for c in result["contenders"].values())
    assert result["meta"]["loaded_machine"] == loaded
    assert ("LOADED MACHINE" in result.get("warning", "")) == loaded
    assert ("LOADED MACHINE" in stdout) == loaded
    assert "time to FD <=" in stdout and "held-out real digits" in stdout
    assert (out / "time_to_quality_smoke.png").stat().st_size > 0


@pytest.fixture
def module(monkeypatch):
    """The script imported in this process (its XLA_FLAGS default set, and undone after)."""
    monkeypatch.setenv("XLA_FLAGS", os.environ.get("XLA_FLAGS", ""))
    monkeypatch.syspath_prepend(str(HERE))
    import time_to_quality

    return time_to_quality


def test_time_to_interpolates_fd_in_log_time(module):
    """FD 100 at 10 s, 10 at 1000 s: 55 is reached half-way in log time, at 100 s."""
    points = [(10.0, 100.0), (10.0, 100.0), (1000.0, 10.0)]  # a shared snapshot counts once
    assert module.time_to(points, 55.0) == (pytest.approx(100.0), "")
    assert module.time_to(points, 5.0) == ("not reached", "")
    assert module.time_to(points, 200.0) == (10.0, "at or before the first snapshot")


def test_a_busy_machine_is_refused(module, monkeypatch, tmp_path, capsys):
    """Without --allow-load, a 1-minute load average above 1.5 stops the run before training."""
    monkeypatch.setattr(module.os, "getloadavg", lambda: (9.0, 9.0, 9.0))
    argv = ["--marks", "1", "--n", "8", "--seeds", "1", "--settle", "0", "--out-dir", str(tmp_path)]
    assert module.main(argv) == 3
    assert "refusing to train peer" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_the_recipe_sweep_runs_and_writes_its_table(tmp_path):
    """benchmarks/recipe_sweep.py at tiny settings (two variants, 3 steps, 32 samples, two seeds):
    its JSON has the variants' changes, their step budgets scaled by the timing pass (a batch of
    64 gets more steps than one of 128), per-seed scores and the paired differences' inputs.
    No timing is asserted."""
    out = tmp_path / "sweep.json"
    argv = [sys.executable, str(HERE / "recipe_sweep.py"), "--steps", "3", "--n", "32"]
    argv += ["--seeds", "2", "--only", "batch 64", "ln t uniform", "--no-samplers"]
    argv += ["--training-seeds", "0", "1", "--out", str(out)]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-4000:]
    result = json.loads(out.read_text())
    variants = result["variants"]
    names = ["the CLI's recipe", "batch 64", "ln t uniform"]
    assert list(variants) == names + [f"{n}, training seed 1" for n in names]
    assert variants["batch 64"]["recipe"]["config"]["batch_size"] == 64
    assert variants["ln t uniform"]["recipe"]["t_sampler"] == "loguniform"
    assert variants["the CLI's recipe"]["steps"] == variants["ln t uniform"]["steps"] == 3
    assert variants["batch 64"]["steps"] > 3  # a cheaper step buys more steps in the same time
    # the override reaches the loss: other noise levels, other weights, another FD
    assert variants["ln t uniform"]["ddim"]["fd"] != variants["the CLI's recipe"]["ddim"]["fd"]
    # another training seed is another model (initial weights and batch order), paired with the
    # CLI's recipe at that seed
    again = variants["ln t uniform, training seed 1"]
    assert again["recipe"]["config"]["seed"] == 1
    assert again["ddim"]["fd"] != variants["ln t uniform"]["ddim"]["fd"]
    across = result["across_training_seeds"]["ln t uniform"]
    by_seed = across["paired_fd_difference_by_training_seed"]
    assert set(by_seed) == {"0", "1"}
    assert across["mean"] == pytest.approx((by_seed["0"] + by_seed["1"]) / 2)
    for v in variants.values():
        assert len(v["ddim"]["fd"]) == 2 and all(
            math.isfinite(f) and f > 0 for f in v["ddim"]["fd"]
        )
