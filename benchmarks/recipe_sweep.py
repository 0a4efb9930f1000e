"""A first sweep of the course's training recipe at a fixed wall-clock budget (issue: the recipe
decided by a benchmark, not by assumption).

Each variant is the command line's recipe (``time_to_quality.cli_recipe``) with one setting
changed, trained alone by the same compiled step and loop as ``time_to_quality.py`` for
``--seconds`` of wall clock (compile included), its EMA weights snapshotted at half the budget
and at the end, and scored as there: ``dc.metrics`` FD of DDIM-50 samples against the training
split, ``--n`` samples per seed, mean ± SD over ``--seeds`` seeds. Only learning rate, warm-up and
batch size are swept here; the t-sampler, the weighting, attention, EMA and the step count are not.

    .venv-bench/bin/python benchmarks/recipe_sweep.py [--seconds 120] [--n 297] [--seeds 3]

Prints a table and writes results/recipe_sweep.json. A variant refuses to start on a machine whose
1-minute load average is above 1.5 (``--allow-load`` marks the results instead).
"""

import argparse
import copy
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import time_to_quality as ttq  # noqa: E402
from tqdm import tqdm  # noqa: E402

import diffcourse as dc  # noqa: E402

VARIANTS = {
    "the CLI's recipe": {},
    "lr 1e-3": {"lr": 1e-3},
    "lr 4e-3": {"lr": 4e-3},
    "warm-up 50": {"warmup": 50},
    "batch 64": {"batch_size": 64},
    "batch 256": {"batch_size": 256},
}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=120.0)
    p.add_argument("--n", type=int, default=297)
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--allow-load", action="store_true")
    p.add_argument("--settle", type=float, default=120.0)
    p.add_argument("--only", nargs="+", choices=list(VARIANTS), help="run only these variants")
    p.add_argument("--out", default=str(ttq.RESULTS / "recipe_sweep.json"))
    a = p.parse_args(argv)
    train_x = dc.data.images.load_digits("train")[0]
    held_x = dc.data.images.load_digits("heldout")[0]
    marks = [a.seconds / 2, a.seconds]
    seeds = list(range(a.seeds))
    base = ttq.cli_recipe()
    results = {}
    for name in a.only or VARIANTS:
        recipe = copy.deepcopy(base)
        recipe["config"].update(VARIANTS[name])
        load = ttq.check_load(name, a.allow_load, a.settle)
        holder = {}
        run = ttq.train_to_marks(name, ttq.ours_setup(train_x, recipe, holder), marks)
        sample = ttq.ours_sampler(holder, 50)
        with tqdm(total=len(run["snapshots"]) * len(seeds), desc=f"score {name}") as bar:
            score = ttq.scorer(train_x, held_x, seeds, bar)
            rows = [
                {
                    "mark_s": s["mark_s"],
                    "steps": s["steps"],
                    **score(lambda seed, w=s["weights"], f=sample: f(w, a.n, seed)),
                }
                for s in run["snapshots"]
            ]
        results[name] = {
            "config": recipe["config"],
            **load,
            "steps_per_s": run["steps_per_s"],
            "first_step_s": run["first_step_s"],
            "rows": rows,
        }
        fds = "  ".join(f"{r['mark_s']:.0f} s: {r['fd'][0]:6.2f} ± {r['fd'][1]:4.2f}" for r in rows)
        print(f"{name:18s} {run['steps_per_s']:5.1f} steps/s  FD {fds}", flush=True)
    out = {
        "what": "FD (DDIM 50) of the course's model after a fixed wall clock, one setting changed at a time",
        "seconds": a.seconds,
        "n": a.n,
        "seeds": seeds,
        "cpu": ttq.cpu_model(),
        "variants": results,
    }
    with open(a.out, "w") as f:
        json.dump(ttq.jsonable(out), f, indent=1)
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
