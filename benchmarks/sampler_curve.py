"""Sample quality of the shipped digits model against the number of network calls, over seeds.

Notebook 08 draws this curve live for two call counts and one seed (what fits its CPU budget);
this script measures the full setting: DDPM ancestral (lam = 1), DDIM (lam = 0) and Heun's
probability-flow ODE at 5, 10, 25, 50, 100 and 200 network calls, each on the grid its setting is
meant for, inside the model's training range, 297 samples per seed (the held-out set's size, so
every FD is on one footing), mean and SD over 3 seeds. The reference rows (training subset: the
finite-sample floor; held-out real digits; the pixel Gaussian) are scored the same way.

Run in the course venv:

    .venv/bin/python benchmarks/sampler_curve.py [--seeds 0 1 2] [--calls 5 10 25 50 100 200]

It prints a table and writes benchmarks/results/sampler_curve.json, which notebook 08 reads.
The numbers are sample quality, not speed: the machine's load changes the run time only.
"""

import argparse
import json
import os
import pathlib
import platform
import time

import jax

import diffcourse as dc
from diffcourse import ddpm, metrics

RESULTS = pathlib.Path(__file__).resolve().parent / "results"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--calls", type=int, nargs="+", default=[5, 10, 25, 50, 100, 200])
    p.add_argument("--n", type=int, default=297)
    p.add_argument("--out", type=pathlib.Path, default=RESULTS / "sampler_curve.json")
    args = p.parse_args(argv)
    train_x, _ = dc.data.images.load_digits("train")
    held_x, _ = dc.data.images.load_digits("heldout")
    model, _ = ddpm.load()
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    curve = ddpm.fd_against_calls(model, args.calls, seeds=args.seeds, n=args.n, progress=True)
    refs = {
        name: metrics.score_over_seeds(make, args.seeds)
        for name, make in metrics.reference_samples(train_x, held_x, args.n).items()
    }
    seconds = time.perf_counter() - t0
    print(metrics.format_table(refs))
    print("\nFD (mean ± SD over seeds) against network calls")
    for name, rec in curve.items():
        cells = "  ".join(
            f"{c:>3d}: {m:5.2f} ± {s:4.2f}"
            for c, (m, s) in zip(rec["calls"], rec["fd"], strict=True)
        )
        print(f"{name:16s} {cells}")
    result = {
        "what": "FD of the shipped digits model's samples against network calls (ddpm.fd_against_calls)",
        "seeds": args.seeds,
        "n": args.n,
        "calls_asked": args.calls,
        "curve": curve,
        "references": refs,
        "seconds": round(seconds, 1),
        "load_average_at_start": load,
        "machine": platform.processor() or platform.machine(),
        "jax": jax.__version__,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    print(f"\nwrote {args.out} ({seconds:.0f} s)")


if __name__ == "__main__":
    main()
