"""Command line of the course.

``python -m diffcourse figures [--out DIR]``: regenerate every figure.
``python -m diffcourse train --data digits --steps N --out DIR [--resume]``: train the image DDPM.
``python -m diffcourse sample [--checkpoint DIR] --n 64 --sampler ddim --steps 50 --out FILE``:
draw samples into a grid image (``.png``) or raw (n, H, W) samples in [-1, 1] (``.npy``); without
``--checkpoint`` the shipped digits model is used.

The shipped model is ``python -m diffcourse train --data digits --steps 1000 --out diffcourse/assets/digits``
(its ``model.ckpt``).
"""

import argparse
import os
import sys

# XLA:CPU's YNNPACK convolutions are about 2x slower than Eigen's on these CPUs (shared/
# PERFORMANCE.md): take them out, before jax is imported, unless the user set XLA_FLAGS.
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_experimental_ynn_fusion_type=-individual_convolution")


def _figures(args) -> int:
    from diffcourse import plotting

    for path in plotting.make_all_figures(args.out):
        print(path)
    return 0


def _load_data(args):
    from diffcourse.data import images

    if args.data == "digits":
        return images.load_digits("train")[0]
    if not args.data_path:
        raise SystemExit(
            f"--data {args.data} needs --data-path PATH (an IDX images file, e.g. train-images-idx3-ubyte.gz)"
        )
    try:
        return images.load_idx_images(args.data_path)[0]
    except ValueError as err:
        raise SystemExit(f"cannot read --data-path: {err}") from None


def _train(args) -> int:
    import jax

    from diffcourse import ddpm

    x = _load_data(args)
    model = {
        "channels": args.channels,
        "channel_mults": [int(m) for m in args.channel_mults.split(",")],
        "blocks": args.blocks,
        "attention": args.attention,
        "groups": args.groups,
    }
    result, _ = ddpm.train_images(
        jax.random.key(args.seed),
        x,
        steps=args.steps,
        out_dir=args.out,
        resume=args.resume,
        model=model,
        loss={"param": args.param},
        data=args.data,
        progress=not args.quiet,
        batch_size=args.batch_size,
        lr=args.lr,
        warmup=args.warmup,
        ema_decay=args.ema_decay,
        checkpoint_every=args.checkpoint_every,
        seed=args.seed,
    )
    if result.stopped_early:
        print(result.message, file=sys.stderr)
        return 1
    loss = result.history["loss"]
    tail = f", mean loss of the last 100 steps {loss[-100:].mean():.4f}" if len(loss) else ""
    print(f"trained {result.steps_done} steps{tail}; model written to {args.out}/model.ckpt")
    return 0


def _sample(args) -> int:
    import jax
    import numpy as np

    from diffcourse import ddpm

    try:
        model, meta = ddpm.load(args.checkpoint)
    except ValueError as err:
        raise SystemExit(f"cannot load --checkpoint: {err}") from None
    x = ddpm.sample(
        jax.random.key(args.seed),
        model,
        args.n,
        sampler=args.sampler,
        steps=args.steps,
        eta=args.eta,
        image_shape=tuple(meta["image_shape"]),
    )
    x = np.clip(np.asarray(x, np.float32), -1.0, 1.0)[..., 0]
    if args.out.endswith(".npy"):
        np.save(args.out, x)
    elif args.out.endswith(".png"):
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from diffcourse import plotting

        grid = np.kron(plotting.image_grid(x), np.ones((4, 4)))  # 4x4 pixels per pixel
        plt.imsave(args.out, grid, cmap="gray", vmin=0.0, vmax=1.0)
    else:
        raise SystemExit(f"--out must end in .png or .npy; got {args.out}")
    print(f"wrote {args.n} samples to {args.out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m diffcourse",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    fig = sub.add_parser("figures", help="regenerate every figure in figures/")
    fig.add_argument("--out", default="figures", help="output folder (default: figures)")
    fig.set_defaults(func=_figures)

    tr = sub.add_parser("train", help="train the image DDPM (EMA model -> OUT/model.ckpt)")
    tr.add_argument("--data", default="digits", choices=["digits", "mnist", "fashion-mnist"])
    tr.add_argument("--data-path", help="IDX images file for mnist / fashion-mnist (may be .gz)")
    tr.add_argument("--steps", type=int, required=True)
    tr.add_argument(
        "--out", required=True, help="folder for checkpoint.ckpt, model.ckpt, log.jsonl"
    )
    tr.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.ckpt")
    tr.add_argument("--batch-size", type=int, default=128)
    tr.add_argument("--lr", type=float, default=2e-3)
    tr.add_argument("--warmup", type=int, default=200)
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
    tr.set_defaults(func=_train)

    sa = sub.add_parser("sample", help="draw samples from a trained model")
    sa.add_argument(
        "--checkpoint", help="model.ckpt or its folder (default: the shipped digits model)"
    )
    sa.add_argument("--n", type=int, default=64)
    sa.add_argument("--sampler", default="ddim", choices=["ddim", "ddpm", "ode"])
    sa.add_argument("--steps", type=int, default=50)
    sa.add_argument("--eta", type=float, default=0.0, help="DDIM noise level (0: deterministic)")
    sa.add_argument("--seed", type=int, default=0)
    sa.add_argument(
        "--out", required=True, help="FILE.png (a grid) or FILE.npy (raw (n, H, W) in [-1, 1])"
    )
    sa.set_defaults(func=_sample)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
