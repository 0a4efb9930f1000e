"""The command line: train a few steps (digits and an MNIST-shaped IDX file), resume, sample."""

import json

import numpy as np
import pytest

import diffcourse as dc
from diffcourse.__main__ import main

TINY = ["--channels", "8", "--groups", "4", "--batch-size", "32", "--quiet", "--warmup", "2"]


def test_train_resume_and_sample(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--data", "digits", "--steps", "2", "--out", str(out), *TINY]) == 0
    assert (out / "model.ckpt").is_file() and (out / "checkpoint.ckpt").is_file()
    assert (
        main(["train", "--data", "digits", "--steps", "3", "--out", str(out), "--resume", *TINY])
        == 0
    )
    assert dc.train.read_meta(out / "model.ckpt")["step"] == 3
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
    assert main([*args, *TINY, "--channel-mults", "1,2,2"]) == 0
    assert dc.train.read_meta(out / "model.ckpt")["image_shape"] == [28, 28, 1]


def test_cli_errors(tmp_path):
    with pytest.raises(SystemExit, match="needs --data-path"):
        main(["train", "--data", "mnist", "--steps", "1", "--out", str(tmp_path)])
    (tmp_path / "bad.gz").write_bytes(b"\x1f\x8b broken")
    with pytest.raises(SystemExit, match="cannot read --data-path"):
        main(
            [
                "train",
                "--data",
                "mnist",
                "--data-path",
                str(tmp_path / "bad.gz"),
                "--steps",
                "1",
                "--out",
                str(tmp_path),
            ]
        )
    with pytest.raises(SystemExit, match="cannot load --checkpoint"):
        main(
            [
                "sample",
                "--checkpoint",
                str(tmp_path / "none.ckpt"),
                "--out",
                str(tmp_path / "x.npy"),
            ]
        )
    with pytest.raises(SystemExit, match="must end in .png or .npy"):
        main(["sample", "--n", "2", "--steps", "2", "--out", str(tmp_path / "x.jpg")])
