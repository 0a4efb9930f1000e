"""The command line: train a few steps (digits and an MNIST-shaped IDX file), resume, sample; and
every bad argument answered by one line on stderr and exit code 2, before anything is compiled."""

import gzip
import json
import os
import pathlib
import subprocess
import sys

import jax
import numpy as np
import pytest

import diffcourse as dc
from diffcourse import checkpoint
from diffcourse.__main__ import main

TINY = ["--channels", "8", "--groups", "4", "--batch-size", "32", "--quiet", "--warmup", "2"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Bad files for the table: corrupt gzip streams, absurd IDX headers, crafted checkpoints."""
    d = tmp_path_factory.mktemp("cli_files")
    pix = np.arange(2 * 4 * 4, dtype=np.uint8).reshape(2, 4, 4)
    good = dc.data.images.write_idx(d / "good-idx3", pix).read_bytes()
    gz = bytearray(gzip.compress(good * 50, mtime=0))
    gz[20] ^= 0xFF  # inside the deflate stream
    (d / "deflate.gz").write_bytes(bytes(gz))
    (d / "huge-idx3").write_bytes(bytes([0, 0, 8, 3]) + (2**31).to_bytes(4, "big") * 3)
    (d / "bomb.gz").write_bytes(gzip.compress(bytes([0, 0, 8, 1]) + (2**32 - 1).to_bytes(4, "big")))
    (d / "empty-idx3").write_bytes(bytes([0, 0, 8, 3]) + bytes(12))
    (d / "random.bin").write_bytes(os.urandom(64))
    shipped = pathlib.Path(checkpoint.__file__).parent / "assets" / "digits" / "model.ckpt"
    model = checkpoint.read_meta(shipped)
    crafted = d / "crafted"
    crafted.mkdir()
    checkpoint.save(crafted / "model.ckpt", {"w": np.zeros(2)}, {**model, "image_shape": [8, 8]})
    flipped = bytearray(shipped.read_bytes())
    flipped[-10] ^= 0xFF
    (d / "flipped.ckpt").write_bytes(bytes(flipped))
    (d / "isdir.npy").mkdir()
    run = d / "run"  # a training folder: a fresh run into it, or a resume with other flags
    run.mkdir()
    config = {"lr": 1e-3, "batch_size": 32, "seed": 0, "warmup": 2, "ema_decay": 0.999}
    arch = {"channels": 8, "channel_mults": [1, 2], "blocks": 1, "attention": False, "groups": 4}
    loss = {"param": "edm", "kind": "edm"}  # the loss setting, named either way
    meta = {"config": config, "model": arch, "data": "digits", "loss": loss}
    checkpoint.save(run / "checkpoint.ckpt", {"w": np.zeros(2)}, {**meta, "step": 2})
    return d


# (argv with {d} for the files folder, a fragment of the expected one-line message)
BAD = [
    ("sample --n -1 --out {d}/a.npy", "--n must be a positive integer"),
    ("sample --n 0 --out {d}/a.npy", "--n must be a positive integer"),
    ("sample --n 100000000 --out {d}/a.npy", "<= 10000000"),
    ("sample --n 2000 --out {d}/a.png", "at most 1024 for a .png"),
    ("sample --n abc --out {d}/a.npy", "invalid int value"),
    ("sample --steps 0 --out {d}/a.npy", "--steps must be a positive integer"),
    ("sample --steps -5 --out {d}/a.npy", "--steps must be"),
    ("sample --steps 1001 --out {d}/a.npy", "<= 1000"),
    ("sample --steps 0 --sampler ode --out {d}/a.npy", "--steps must be"),
    ("sample --sampler foo --out {d}/a.npy", "invalid choice"),
    ("sample --lam -1 --out {d}/a.npy", "--lam must be non-negative"),
    ("sample --label 10 --out {d}/a.npy", "--label must be a non-negative integer <= 9"),
    ("sample --label -1 --out {d}/a.npy", "--label must be a non-negative integer"),
    ("sample --guidance 2 --out {d}/a.npy", "--guidance needs --label"),
    ("sample --label 3 --guidance nan --out {d}/a.npy", "--guidance must be"),
    ("sample --eta nan --out {d}/a.npy", "--lam must be non-negative"),
    ("sample --lam inf --out {d}/a.npy", "--lam must be non-negative"),
    ("sample --eta 5 --sampler ddpm --out {d}/a.npy", "--lam sets the noise of --sampler ddim"),
    ("sample --lam 0.5 --sampler ode --out {d}/a.npy", "--lam sets the noise"),
    ("sample --seed -1 --out {d}/a.npy", "--seed must be"),
    ("sample --out /nonexistent/dir/x.npy", "in an existing folder"),
    ("sample --out /nonexistent/dir/x.png", "in an existing folder"),
    ("sample --out {d}/x.jpg", "ending in .png or .npy"),
    ("sample --out {d}/x", "ending in .png or .npy"),
    ("sample --out {d}/isdir.npy", "an existing folder"),
    ("sample --checkpoint /nonexistent/dir --out {d}/a.npy", "--checkpoint must be"),
    ("sample --checkpoint {d} --out {d}/a.npy", "--checkpoint must be"),
    ("sample --checkpoint {d}/random.bin --out {d}/a.npy", "not a diffcourse checkpoint"),
    ("sample --checkpoint {d}/flipped.ckpt --out {d}/a.npy", "SHA-256"),
    ("sample --checkpoint {d}/crafted --out {d}/a.npy", "image_shape must be"),
    ("train --steps 0 --out {d}/t", "--steps must be a positive integer"),
    ("train --steps -1 --out {d}/t", "--steps must be"),
    ("train --steps 2 --batch-size 0 --out {d}/t", "--batch-size must be"),
    ("train --steps 2 --batch-size 5000 --out {d}/t", "at most the number of training images"),
    ("train --steps 2 --lr -1 --out {d}/t", "--lr must be positive"),
    ("train --steps 2 --lr nan --out {d}/t", "--lr must be positive"),
    ("train --steps 2 --ema-decay 1.0 --out {d}/t", "--ema-decay must be"),
    ("train --steps 2 --ema-decay nan --out {d}/t", "--ema-decay must be"),
    ("train --steps 2 --warmup -1 --out {d}/t", "--warmup must be"),
    ("train --steps 2 --checkpoint-every -1 --out {d}/t", "--checkpoint-every must be"),
    ("train --steps 2 --seed -1 --out {d}/t", "--seed must be"),
    ("train --steps 2 --channels 0 --out {d}/t", "--channels must be"),
    ("train --steps 2 --channels -8 --out {d}/t", "--channels must be"),
    ("train --steps 2 --channels 33 --out {d}/t", "--groups must divide"),
    ("train --steps 2 --channels 4096 --channel-mults 1,2 --out {d}/t", "at most 4096"),
    ("train --steps 2 --groups 0 --out {d}/t", "--groups must be"),
    ("train --steps 2 --blocks -1 --out {d}/t", "--blocks must be"),
    ("train --steps 2 --blocks 0 --out {d}/t", "--blocks must be"),
    ("train --steps 2 --channel-mults a,b --out {d}/t", "--channel-mults must be"),
    ("train --steps 2 --channel-mults= --out {d}/t", "--channel-mults must be"),
    ("train --steps 2 --channel-mults 0 --out {d}/t", "--channel-mults must be"),
    ("train --steps 2 --channel-mults 1,-1 --out {d}/t", "--channel-mults must be"),
    ("train --data mnist --steps 2 --out {d}/t", "needs --data-path"),
    ("train --data mnist --data-path /nonexistent.gz --steps 2 --out {d}/t", "existing file"),
    ("train --data mnist --data-path {d} --steps 2 --out {d}/t", "existing file"),
    ("train --data mnist --data-path {d}/random.bin --steps 2 --out {d}/t", "not an IDX file"),
    ("train --data mnist --data-path {d}/deflate.gz --steps 2 --out {d}/t", "corrupt or trunc"),
    ("train --data mnist --data-path {d}/huge-idx3 --steps 2 --out {d}/t", "more than the limit"),
    ("train --data mnist --data-path {d}/bomb.gz --steps 2 --out {d}/t", "more than the limit"),
    ("train --data mnist --data-path {d}/empty-idx3 --steps 2 --out {d}/t", "n, H, W >= 1"),
    ("train --steps 2 --out {d}/random.bin", "an existing file"),
    ("train --steps 2 --out {d}/random.bin/sub", "is a file"),
    ("train --steps 2 --out /proc/diffcourse_x", "--out must be"),
    ("train --steps 2 --resume --restart --out {d}/t", "exclude each other"),
    ("train --steps 2 --resume --out {d}/nothing", "nothing to --resume"),
    ("train --steps 2 --out {d}/run", "already holds a training run"),
    ("train --steps 4 --resume --out {d}/run " + " ".join(TINY), "(lr: 0.001 there, 0.002 here,"),
    (
        "train --steps 4 --resume --out {d}/run --lr 1e-3 --batch-size 32 --warmup 2 "
        "--channels 16 --groups 4",
        "channels: 8 there, 16 here",
    ),
    (  # the fixture's run kept its rate (no decay stored); the default decays to --steps
        "train --steps 4 --resume --out {d}/run --lr 1e-3 --batch-size 32 --warmup 2 "
        "--channels 8 --groups 4",
        "(lr_decay_steps: 0 there, 4 here); give the same flags, or --restart to start over "
        "(a cosine schedule ends at the run's --steps",
    ),
    ("train", "the following arguments are required"),
    ("nonsense", "invalid choice"),
    ("figures --out {d}/random.bin", "an existing file"),
    ("figures --out {d}/random.bin/figs", "is a file"),
]


def _compile_events(fn):
    """Run ``fn`` and return the XLA compile events JAX's monitoring reported meanwhile."""
    events = []
    listener = lambda event, seconds, **kw: events.append(event)  # noqa: E731
    jax.monitoring.register_event_duration_secs_listener(listener)
    try:
        result = fn()
    finally:
        jax.monitoring.unregister_event_duration_listener(listener)
    return result, [e for e in events if "compile" in e]


def test_the_compile_listener_sees_a_compile():
    """The positive control for the check below: a fresh jitted function is reported."""
    _, compiled = _compile_events(lambda: jax.jit(lambda x: x * 3.0 + 1.0)(np.arange(7.0)))
    assert compiled, "JAX reported no compile event: the no-compile check below would be vacuous"


@pytest.mark.parametrize("argv, message", BAD, ids=[b[0].split(" --out")[0] for b in BAD])
def test_bad_arguments_are_one_line_and_exit_2(files, capsys, argv, message):
    code, compiled = _compile_events(lambda: main(argv.format(d=files).split()))
    out, err = capsys.readouterr()
    assert code == 2, err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert message in err and err.startswith("python -m diffcourse"), err
    assert not compiled, f"the check ran after XLA compiled something: {compiled}"


def test_bad_arguments_in_a_fresh_process_load_no_jax(tmp_path):
    """Run as a user would: no traceback, exit 2, and the check came before jax was imported."""
    code = "import sys, runpy; sys.argv[0] = 'x'; from diffcourse.__main__ import main; " + (
        "r = main(sys.argv[1:]); print('jax' in sys.modules); sys.exit(r)"
    )
    cmd = [sys.executable, "-c", code, "sample", "--n", "-1", "--out", str(tmp_path / "a.npy")]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and r.stdout.strip() == "False"
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr


def test_train_resume_and_sample(tmp_path, capsys):
    out = tmp_path / "run"
    # a constant rate after the warm-up: a run that can be extended (the default cosine ends at
    # --steps, and a resume with other --steps is refused, tested in BAD)
    flags = [*TINY, "--lr-schedule", "constant"]
    assert main(["train", "--data", "digits", "--steps", "2", "--out", str(out), *flags]) == 0
    assert (out / "model.ckpt").is_file() and (out / "checkpoint.ckpt").is_file()
    assert (
        main(["train", "--data", "digits", "--steps", "3", "--out", str(out), "--resume", *flags])
        == 0
    )
    assert dc.train.read_meta(out / "model.ckpt")["step"] == 3
    # model.ckpt never displaces the training state kept as the fallback
    assert "config" in dc.train.read_meta(out / "checkpoint.prev.ckpt")
    steps = [json.loads(line)["step"] for line in (out / "log.jsonl").read_text().splitlines()]
    assert steps == [2, 3]
    npy = tmp_path / "s.npy"
    assert (
        main(["sample", "--checkpoint", str(out), "--n", "5", "--steps", "3", "--out", str(npy)])
        == 0
    )
    x = np.load(npy)
    assert x.shape == (5, 8, 8) and x.min() >= -1 and x.max() <= 1
    png = tmp_path / "s.png"  # same sampler and sizes as above: the compiled sampler is reused
    args = ["sample", "--checkpoint", str(out), "--n", "5", "--steps", "3", "--out", str(png)]
    assert main(args) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "wrote 5 samples" in capsys.readouterr().out


def test_mnist_idx_data_path(tmp_path):
    pix = np.random.default_rng(0).integers(0, 256, size=(40, 28, 28), dtype=np.uint8)
    path = dc.data.images.write_idx(tmp_path / "train-images-idx3-ubyte.gz", pix)
    out = tmp_path / "m"
    args = ["train", "--data", "mnist", "--data-path", str(path), "--steps", "1", "--out", str(out)]
    assert main([*args, *TINY, "--channel-mults", "1,2"]) == 0  # 28 -> 14: a 2-level net
    assert dc.train.read_meta(out / "model.ckpt")["image_shape"] == [28, 28, 1]


def test_a_large_n_is_sampled_in_batches(monkeypatch):
    """--n above SAMPLE_BATCH: fixed-size batches (one compile) with keys fold_in(key, i), the
    last one cut; --n up to SAMPLE_BATCH is one call with the key itself (as before batching).
    The sampler is replaced by a stub that records its calls (no compile here)."""
    import argparse

    import jax

    import diffcourse.__main__ as cli

    calls = []

    def draw(key, model, n, args, image_shape):
        calls.append((n, np.asarray(jax.random.key_data(key)).tolist()))
        return np.full((n, *image_shape), len(calls), np.float32)

    monkeypatch.setattr(cli, "_draw", draw)
    key, b = jax.random.key(0), cli.SAMPLE_BATCH
    got = list(cli._batches(key, None, argparse.Namespace(n=2 * b + 88), (8, 8, 1)))
    assert [(start, len(x)) for start, x in got] == [(0, b), (b, b), (2 * b, 88)]
    folded = [
        np.asarray(jax.random.key_data(jax.random.fold_in(key, i))).tolist() for i in range(3)
    ]
    assert calls == [(b, k) for k in folded]
    calls.clear()
    [(start, x)] = cli._batches(key, None, argparse.Namespace(n=5), (8, 8, 1))
    assert calls == [(5, np.asarray(jax.random.key_data(key)).tolist())] and x.shape == (5, 8, 8, 1)
