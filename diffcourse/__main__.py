"""Command line of the course.

``python -m diffcourse figures [--out DIR]``: regenerate every figure.
``python -m diffcourse train --data digits --steps N --out DIR [--resume | --restart]``: train the
image DDPM. ``--resume`` continues the run in DIR (and refuses, naming the fields, if DIR holds a
run with other settings or nothing loadable); ``--restart`` deletes the run in DIR first.
``python -m diffcourse sample [--checkpoint DIR] --n 64 --sampler ddim --steps 50 --out FILE``:
draw samples into a grid image (``.png``, at most 1024 samples) or raw (n, H, W) samples in
[-1, 1] (``.npy``, written in batches of 256 with bounded memory); without ``--checkpoint`` the
shipped digits model is used.
``python -m diffcourse site [--out DIR]``: build the course as a static website from the stored
outputs, offline (MathJax served from the site; default ``build/site``).
``python -m diffcourse student-copy DIR [--from NOTEBOOKS] [--overwrite]``: write the student
edition into DIR: every ``solution`` cell a stub that raises ``NotImplementedError``, the checks
kept (default ``--from``: the course's ``notebooks/``; DIR must lie outside it).
``python -m diffcourse grade DIR [--report FILE] [--only 00,02] [--timeout SECONDS]``: run each
notebook in DIR in a fresh kernel (quick mode, JAX on the CPU), print a table of every exercise
(passed / failed with the check's message / not attempted) and write the JSON report (default
``DIR/grades.json``). Exit code 0 once the report is written, whatever the score.

Every argument is checked before anything is loaded or compiled; a mistake is one line on stderr
(what was wrong, what is expected) and exit code 2. The shipped model is
``python -m diffcourse train --data digits --steps 1000 --out diffcourse/assets/digits``.
"""

import argparse
import os
import pathlib
import shutil
import sys

# ``import diffcourse`` sets XLA_FLAGS for faster convolutions (see diffcourse/__init__.py)
from diffcourse import _validate, checkpoint  # numpy only: no jax yet

MAX_N = 10_000_000  # samples per `sample` call (.npy; written in batches)
MAX_PNG = 1024  # samples in one grid image
SAMPLE_BATCH = 256  # samples drawn per compiled call: bounds memory for any --n
SCHEDULE_LENGTH = 1000  # DDPM steps of ddpm.schedule(): the most --steps for ddim / ddpm
MAX_ODE_STEPS = 10_000
MAX_WIDTH = 4096  # channels * max(channel_mults)
MAX_IMAGE_SIDE = 1024
CHECKPOINT_FILES = ("checkpoint.ckpt", "checkpoint.prev.ckpt")


class UsageError(Exception):
    """A mistake in the arguments or the files they name: one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line instead of usage + error
        raise UsageError(message)


def _check(check, flag, *args, **kwargs):
    """Run a :mod:`diffcourse._validate` check on a flag's value; its error becomes a UsageError."""
    try:
        return check(flag, *args, **kwargs)
    except ValueError as err:
        raise UsageError(str(err)) from None


# --------------------------------------------------------------------------------------------
# figures


def _figures(args) -> int:
    _check(_validate.writable_dir, "--out", args.out)
    from diffcourse import plotting

    for path in plotting.make_all_figures(args.out):
        print(path)
    return 0


# --------------------------------------------------------------------------------------------
# site


def _site(args) -> int:
    _check(_validate.writable_dir, "--out", args.out)
    from diffcourse import site

    try:
        print(site.build(args.out))
    except ValueError as err:
        raise UsageError(str(err)) from None
    return 0


# --------------------------------------------------------------------------------------------
# train


def _model_args(args) -> dict:
    """The U-Net keyword arguments from the flags, checked (no jax)."""
    try:
        mults = [int(m) for m in args.channel_mults.split(",")]
    except ValueError:
        raise UsageError(
            "--channel-mults must be comma-separated positive integers such as 1,2,2; "
            f"got {args.channel_mults!r}"
        ) from None
    mults = list(_check(_validate.ints, "--channel-mults", mults, minimum=1, max_len=6))
    channels = _check(_validate.integer, "--channels", args.channels, minimum=1)
    groups = _check(_validate.integer, "--groups", args.groups, minimum=1)
    _check(_validate.integer, "--blocks", args.blocks, minimum=1, maximum=16)
    if channels * max(mults) > MAX_WIDTH:
        raise UsageError(
            f"--channels times the largest --channel-mults must be at most {MAX_WIDTH}; "
            f"got {channels} x {max(mults)}"
        )
    for width in sorted({channels * m for m in mults}):
        if width % groups:
            raise UsageError(
                f"--groups must divide every level's width ({channels} x each of "
                f"--channel-mults); got --groups {groups} for width {width}"
            )
    return {
        "channels": channels,
        "channel_mults": mults,
        "blocks": args.blocks,
        "attention": args.attention,
        "groups": groups,
    }


def _config_args(args) -> dict:
    """The TrainConfig fields from the flags, checked (no jax)."""
    _check(_validate.integer, "--steps", args.steps, minimum=1)
    _check(_validate.integer, "--batch-size", args.batch_size, minimum=1)
    _check(_validate.integer, "--warmup", args.warmup, minimum=0)
    _check(_validate.integer, "--checkpoint-every", args.checkpoint_every, minimum=0)
    _check(_validate.integer, "--seed", args.seed, minimum=0, maximum=2**32 - 1)
    _check(_validate.real, "--lr", args.lr, low=0.0, low_open=True)
    _check(_validate.real, "--ema-decay", args.ema_decay, low=0.0, high=1.0, high_open=True)
    # cosine: from the end of the warm-up to 0 at the run's last step (a run no longer than its
    # warm-up never starts the decay)
    decay = max(args.steps, args.warmup + 1) if args.lr_schedule == "cosine" else 0
    return {
        "batch_size": args.batch_size,
        "lr": args.lr,
        "warmup": args.warmup,
        "lr_decay_steps": decay,
        "ema_decay": args.ema_decay,
        "checkpoint_every": args.checkpoint_every,
        "seed": args.seed,
    }


def _load_data(args):
    """The training images (N, H, W) in [-1, 1], checked against --batch-size (no jax)."""
    from diffcourse.data import images

    if args.data == "digits":
        x = images.load_digits("train")[0]
    else:
        if not args.data_path:
            raise UsageError(
                f"--data {args.data} needs --data-path PATH (an IDX images file, e.g. "
                "train-images-idx3-ubyte.gz)"
            )
        try:
            x = images.load_idx_images(args.data_path)[0]
        except ValueError as err:
            raise UsageError(f"cannot read --data-path: {err}") from None
    if args.batch_size > len(x):
        raise UsageError(
            f"--batch-size must be at most the number of training images ({len(x)}); "
            f"got {args.batch_size}"
        )
    return x


def _check_run_dir(args, model: dict, config: dict):
    """Refuse, before any compile, a --resume that cannot resume or an --out holding a run."""
    out = _check(_validate.writable_dir, "--out", args.out)
    if args.resume and args.restart:
        raise UsageError("--resume and --restart exclude each other; give one of them")
    present = [n for n in CHECKPOINT_FILES if (out / n).exists()]
    if not args.resume:
        if present and not args.restart:
            raise UsageError(
                f"--out {out} already holds a training run ({present[0]}); add --resume to "
                "continue it or --restart to start over"
            )
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise UsageError(f"--out must be a folder that can be created; got {err}") from None
        return
    reasons = []
    for name in CHECKPOINT_FILES:
        if not (out / name).exists():
            reasons.append(f"no {name}")
            continue
        try:
            meta = checkpoint.read_meta(out / name)
        except checkpoint.CheckpointError as err:
            reasons.append(f"{name}: {err}")
            continue
        if "config" not in meta:
            reasons.append(f"{name}: not a training state")
            continue
        stored = {**meta["config"], **meta.get("model", {}), "data": meta.get("data")}
        stored["kind"] = meta.get("loss", {}).get("kind")
        stored.setdefault("lr_decay_steps", 0)  # a run from before the schedule option
        given = {**config, **model, "data": args.data, "kind": args.param}
        fields = [k for k in given if k != "checkpoint_every" and stored.get(k) != given[k]]
        if fields:
            raise UsageError(
                f"cannot --resume {out / name}: it was trained with other settings ("
                + ", ".join(f"{k}: {stored.get(k)!r} there, {given[k]!r} here" for k in fields)
                + "); give the same flags, or --restart to start over"
                + (
                    " (a cosine schedule ends at the run's --steps: resume it with the same"
                    " --steps; a --lr-schedule constant run can be extended)"
                    if "lr_decay_steps" in fields
                    else ""
                )
            )
        return
    raise UsageError(
        f"nothing to --resume in {out} ({'; '.join(reasons)}); use --restart to start over"
    )


def _train_images(args, x, model: dict, config: dict):
    """The one call into ddpm for training."""
    import jax

    from diffcourse import ddpm

    if args.conditional:
        from diffcourse import guidance
        from diffcourse.data import images

        return guidance.train_conditional(
            jax.random.key(args.seed),
            x,
            images.load_digits("train")[1],
            steps=args.steps,
            out_dir=args.out,
            resume=args.resume,
            arch=ddpm.Arch(**model, n_classes=10),
            loss=ddpm.Loss(kind=args.param),
            progress=not args.quiet,
            **config,
        )
    return ddpm.train_images(
        jax.random.key(args.seed),
        x,
        steps=args.steps,
        out_dir=args.out,
        resume=args.resume,
        arch=ddpm.Arch(**model),
        loss=ddpm.Loss(kind=args.param),
        data=args.data,
        progress=not args.quiet,
        **config,
    )


def _train(args) -> int:
    config = _config_args(args)
    model = _model_args(args)
    x = _load_data(args)
    _check_run_dir(args, model, config)
    if args.restart:
        for name in (*CHECKPOINT_FILES, "checkpoint.ckpt.tmp", "log.jsonl"):
            (pathlib.Path(args.out) / name).unlink(missing_ok=True)
    result, _ = _train_images(args, x, model, config)
    if result.stopped_early:
        print(result.message, file=sys.stderr)
        return 1
    # the loss of the steps this process ran (a resumed run's earlier steps are in log.jsonl)
    loss, step = result.history["loss"][-100:], result.history["step"][-100:]
    tail = f", mean loss of steps {step[0]}-{step[-1]} {loss.mean():.4f}" if len(loss) else ""
    print(f"trained to step {result.steps_done}{tail}; model written to {args.out}/model.ckpt")
    return 0


# --------------------------------------------------------------------------------------------
# sample


def _checkpoint_path(args) -> pathlib.Path:
    if args.checkpoint is None:  # ddpm.SHIPPED or guidance.SHIPPED_DIR, without importing jax
        shipped = "digits_cond" if getattr(args, "label", None) is not None else "digits"
        return pathlib.Path(__file__).parent / "assets" / shipped / "model.ckpt"
    path = pathlib.Path(args.checkpoint)
    if path.is_dir():
        path = path / "model.ckpt"
    if not path.is_file():
        raise UsageError(
            f"--checkpoint must be a model.ckpt file or a folder holding one; got {args.checkpoint!r}"
            " (no such file)"
        )
    return path


def _image_shape(path, meta) -> tuple:
    shape = meta.get("image_shape")
    ok = (
        isinstance(shape, list)
        and len(shape) == 3
        and all(isinstance(s, int) and not isinstance(s, bool) for s in shape)
        and all(1 <= s <= MAX_IMAGE_SIDE for s in shape[:2])
        and 1 <= shape[2] <= 4
    )
    if not ok:
        raise UsageError(
            f"cannot load --checkpoint: {path} is corrupt: its meta's image_shape must be "
            f"[H, W, C] with 1 <= H, W <= {MAX_IMAGE_SIDE} and 1 <= C <= 4; got {shape!r}"
        )
    return tuple(shape)


def _check_sample_args(args):
    _check(_validate.integer, "--n", args.n, minimum=1, maximum=MAX_N)
    most = MAX_ODE_STEPS if args.sampler == "ode" else SCHEDULE_LENGTH
    _check(_validate.integer, "--steps", args.steps, minimum=1, maximum=most)
    _check(_validate.integer, "--seed", args.seed, minimum=0, maximum=2**32 - 1)
    if args.label is not None:
        _check(_validate.integer, "--label", args.label, minimum=0, maximum=9)
    if args.guidance is not None:
        _check(_validate.real, "--guidance", args.guidance, low=-1.0, high=100.0)
        if args.label is None:
            raise UsageError("--guidance needs --label (the class to guide towards)")
    if args.lam is not None:
        _check(_validate.real, "--lam", args.lam, low=0.0)
        if args.sampler != "ddim":
            raise UsageError(
                f"--lam sets the noise of --sampler ddim (ddpm is lam = 1, ode is lam = 0); "
                f"got --lam {args.lam} with --sampler {args.sampler}"
            )
    out = _check(_validate.writable_file, "--out", args.out, (".png", ".npy"))
    if out.suffix == ".png" and args.n > MAX_PNG:
        raise UsageError(
            f"--n must be at most {MAX_PNG} for a .png grid; got {args.n} (write .npy for more)"
        )
    return out


def _load_model(path):
    """The one call into ddpm for loading: ``(model, meta)``."""
    from diffcourse import ddpm

    return checkpoint.load_model(path, ddpm.from_meta)


def _draw(key, model, n, args, image_shape):
    """The one call into ddpm for sampling: ``n`` images (n, H, W, C)."""
    from diffcourse import ddpm

    setting, lam = _setting(args)
    if args.label is not None:
        import numpy as np

        from diffcourse import guidance

        w = guidance.DEFAULT_W if args.guidance is None else args.guidance
        labels = np.full(n, args.label)
        return guidance.sample_digits(
            key, model, labels, w=w, setting=setting, steps=args.steps, lam=lam
        )
    return ddpm.sample(key, model, n, setting=setting, steps=args.steps, lam=lam)


def _setting(args):
    """The sampler table's setting and its lam for the flags (--sampler ddim with --lam > 0 is ddim-eta)."""
    if args.sampler == "ddim" and args.lam:
        return "ddim-eta", args.lam
    if args.sampler == "ddpm":  # ancestral on --steps of the schedule: the ddim step at lam = 1
        return "ddim-eta", 1.0
    return args.sampler, None


def _batches(key, model, args, image_shape):
    """``(start, samples)`` in batches of SAMPLE_BATCH (one compile); n <= SAMPLE_BATCH is one call."""
    import jax
    import numpy as np

    if args.n <= SAMPLE_BATCH:
        yield 0, np.asarray(_draw(key, model, args.n, args, image_shape), np.float32)
        return
    for i, start in enumerate(range(0, args.n, SAMPLE_BATCH)):
        x = _draw(jax.random.fold_in(key, i), model, SAMPLE_BATCH, args, image_shape)
        yield start, np.asarray(x, np.float32)[: args.n - start]


def _sample(args) -> int:
    out = _check_sample_args(args)
    path = _checkpoint_path(args)
    try:
        meta = checkpoint.read_meta(path)
    except checkpoint.CheckpointError as err:
        raise UsageError(f"cannot load --checkpoint: {err}") from None
    h, w, _ = image_shape = _image_shape(path, meta)
    need = args.n * h * w * 4
    free = shutil.disk_usage(out.absolute().parent).free
    if need > free:
        raise UsageError(f"--out needs {need} bytes for {args.n} samples; its disk has {free}")
    import jax
    import numpy as np

    try:
        model, _ = _load_model(path)
    except ValueError as err:
        raise UsageError(f"cannot load --checkpoint: {err}") from None
    from diffcourse import ddpm

    _, note = ddpm.grid(model, _setting(args)[0], args.steps)
    if note:
        print(note)
    tmp = out.with_name(out.name + ".tmp" + out.suffix)
    if out.suffix == ".npy":
        dest = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(args.n, h, w))
    else:
        dest = np.empty((args.n, h, w), np.float32)
    for start, x in _batches(jax.random.key(args.seed), model, args, image_shape):
        dest[start : start + len(x)] = np.clip(x, -1.0, 1.0)[..., 0]
    if out.suffix == ".npy":
        dest.flush()
        del dest
    else:
        _write_png(tmp, dest)
    os.replace(tmp, out)
    print(f"wrote {args.n} samples to {out}")
    return 0


def _write_png(path, x):
    import matplotlib
    import numpy as np

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from diffcourse import plotting

    grid = np.kron(plotting.image_grid(x), np.ones((4, 4)))  # 4x4 pixels per pixel
    plt.imsave(path, grid, cmap="gray", vmin=0.0, vmax=1.0, format="png")


# --------------------------------------------------------------------------------------------
# student-copy and grade (diffcourse.grading: nbformat here, nbclient only when grading)

COURSE_NOTEBOOKS = pathlib.Path(__file__).resolve().parent.parent / "notebooks"


def _student_copy(args) -> int:
    src = pathlib.Path(args.src) if args.src is not None else COURSE_NOTEBOOKS
    if not src.is_dir():
        where = "" if args.src is not None else " (not a repository checkout?)"
        raise UsageError(
            f"--from must be a folder of the course's notebooks; got {str(src)!r}{where}"
        )
    _check(_validate.writable_dir, "DIR", args.dir)
    from diffcourse import grading

    try:
        result = grading.student_copy(src, args.dir, overwrite=args.overwrite)
    except ValueError as err:
        raise UsageError(str(err)) from None
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    print(
        f"wrote {len(result.notebooks)} notebooks with {result.exercises} exercises to {args.dir}"
    )
    return 0


def _only(text) -> list | None:
    if text is None:
        return None
    parts = [p.strip() for p in text.split(",")]
    if not all(parts):
        raise UsageError(
            f"--only must be comma-separated notebook numbers or names such as 00,02; got {text!r}"
        )
    return parts


def _grade(args) -> int:
    folder = pathlib.Path(args.dir)
    if not folder.is_dir():
        raise UsageError(f"DIR must be an existing folder of notebooks; got {args.dir!r}")
    report = folder / "grades.json" if args.report is None else args.report
    report = _check(_validate.writable_file, "--report", report, (".json",))
    _check(_validate.integer, "--timeout", args.timeout, minimum=1)
    only = _only(args.only)
    from diffcourse import grading

    try:
        result = grading.grade(
            folder,
            only=only,
            timeout=args.timeout,
            report=report,
            progress=lambda line: print(line, file=sys.stderr, flush=True),
        )
    except ValueError as err:
        raise UsageError(str(err)) from None
    print(grading.table(result))
    print(f"report written to {report}")
    return 0


# --------------------------------------------------------------------------------------------
# parser and main


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m diffcourse",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    fig = sub.add_parser("figures", help="regenerate every figure in figures/")
    fig.add_argument("--out", default="figures", help="output folder (default: figures)")
    fig.set_defaults(func=_figures)

    st = sub.add_parser(
        "site", help="build the course as a static website (stored outputs, offline)"
    )
    st.add_argument("--out", default="build/site", help="output folder (default: build/site)")
    st.set_defaults(func=_site)

    tr = sub.add_parser("train", help="train the image DDPM (EMA model -> OUT/model.ckpt)")
    tr.add_argument("--data", default="digits", choices=["digits", "mnist", "fashion-mnist"])
    tr.add_argument("--data-path", help="IDX images file for mnist / fashion-mnist (may be .gz)")
    tr.add_argument("--steps", type=int, required=True)
    tr.add_argument(
        "--out", required=True, help="folder for checkpoint.ckpt, model.ckpt, log.jsonl"
    )
    tr.add_argument("--resume", action="store_true", help="continue the run in OUT")
    tr.add_argument("--restart", action="store_true", help="delete the run in OUT, start over")
    tr.add_argument("--batch-size", type=int, default=128)
    tr.add_argument("--lr", type=float, default=2e-3)
    tr.add_argument("--warmup", type=int, default=200)
    tr.add_argument(
        "--lr-schedule",
        default="cosine",
        choices=["cosine", "constant"],
        help="after the warm-up: a cosine to 0 at the last step (default; --resume needs the same "
        "--steps), or constant (a run that can be extended)",
    )
    tr.add_argument("--ema-decay", type=float, default=0.999)
    tr.add_argument("--checkpoint-every", type=int, default=500)
    tr.add_argument("--seed", type=int, default=0)
    tr.add_argument("--channels", type=int, default=32)
    tr.add_argument("--channel-mults", default="1,2", help="comma-separated, e.g. 1,2,2 for 28x28")
    tr.add_argument("--blocks", type=int, default=1)
    tr.add_argument(
        "--attention", action="store_true", help="self-attention at the lowest resolution"
    )
    tr.add_argument("--groups", type=int, default=8)
    tr.add_argument("--param", default="edm", choices=["edm", "eps"])
    tr.add_argument("--quiet", action="store_true", help="no progress bar")
    tr.add_argument(
        "--conditional",
        action="store_true",
        help="class-conditional (digits labels, label dropout 0.1) for classifier-free guidance",
    )
    tr.set_defaults(func=_train)

    sa = sub.add_parser("sample", help="draw samples from a trained model")
    sa.add_argument(
        "--checkpoint", help="model.ckpt or its folder (default: the shipped digits model)"
    )
    sa.add_argument("--n", type=int, default=64)
    sa.add_argument("--sampler", default="ddim", choices=["ddim", "ddpm", "ode"])
    sa.add_argument("--steps", type=int, default=50)
    sa.add_argument(
        "--lam",
        "--eta",
        dest="lam",
        type=float,
        default=None,
        help="noise level lam of the reverse process for --sampler ddim (DDIM's eta; default 0)",
    )
    sa.add_argument("--seed", type=int, default=0)
    sa.add_argument(
        "--label",
        type=int,
        default=None,
        help="class 0-9: guided samples of that digit (default model: the shipped conditional one)",
    )
    sa.add_argument(
        "--guidance",
        type=float,
        default=None,
        help="classifier-free guidance weight w (Ho & Salimans 2022; diffusers' guidance_scale is"
        " 1 + w; default 1)",
    )
    sa.add_argument(
        "--out", required=True, help="FILE.png (a grid) or FILE.npy (raw (n, H, W) in [-1, 1])"
    )
    sa.set_defaults(func=_sample)

    sc = sub.add_parser("student-copy", help="write the student edition (solutions stubbed)")
    sc.add_argument("dir", metavar="DIR", help="folder to write the notebooks into")
    sc.add_argument(
        "--from", dest="src", help="the course's notebooks folder (default: notebooks/)"
    )
    sc.add_argument("--overwrite", action="store_true", help="replace notebooks already in DIR")
    sc.set_defaults(func=_student_copy)

    gr = sub.add_parser("grade", help="run a student's notebooks and grade every exercise")
    gr.add_argument("dir", metavar="DIR", help="folder of the student's notebooks")
    gr.add_argument("--report", help="JSON report file (default: DIR/grades.json)")
    gr.add_argument("--only", help="comma-separated notebook numbers or names, e.g. 00,02")
    gr.add_argument("--timeout", type=int, default=600, help="seconds per cell (default: 600)")
    gr.set_defaults(func=_grade)
    return parser


def _one_line(err) -> str:
    return " ".join(str(err).split())


def main(argv=None) -> int:
    """Run the command line; a user's mistake is one line on stderr and exit code 2 (no traceback)."""
    prog = "python -m diffcourse"
    try:
        args = build_parser().parse_args(argv)
        prog = f"{prog} {args.command}"
        return args.func(args)
    except UsageError as err:
        print(f"{prog}: error: {_one_line(err)}", file=sys.stderr)
        return 2
    except ValueError as err:  # a check deeper in the package (a corrupt file, a refused resume)
        if os.environ.get("DIFFCOURSE_DEBUG"):
            raise
        print(f"{prog}: error: {_one_line(err)}", file=sys.stderr)
        return 2
    except OSError as err:  # the disk: full, read-only, removed under us
        print(f"{prog}: error: {_one_line(err)}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
