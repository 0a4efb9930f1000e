"""The course's training recipe, swept at an equal wall-clock budget and scored finely enough to
tell the variants apart (issue: the recipe decided by a benchmark, not by assumption).

Each variant is the command line's recipe (``time_to_quality.cli_recipe``) with one thing changed:
the learning rate and its schedule, the warm-up, the EMA decay, the batch size, the distribution of
training noise levels and their weighting (EDM's log-normal moved, ln t uniform on the same range,
flow matching's weighting 1/tau^2 with tau uniform or logit-normal, on the same preconditioned
network), attention at 4x4, the training seed (the yardstick: what changes when nothing does).

Equal wall clock, as steps. A timing pass first runs every variant whose step costs differ
(batch size, attention) in alternating blocks in this process and measures its steps/s relative
to the CLI's recipe; the CLI's recipe trains ``--steps`` steps (1000, the shipped model's) and
each other variant ``round(steps x its relative rate)``, so a batch of 64 gets about twice the
steps of a batch of 128: the same wall clock on any machine, whatever its absolute speed.
Training itself is deterministic (fixed keys, fixed batch order), so the sweep is reproducible
step for step and the machine's load after the timing pass changes only how long it takes.

Scored finely. At 297 samples, the Fréchet distance of one model varies by an SD of about 2.5
between sampling seeds (notebook 08's table), as large as the differences a recipe makes. Here
each variant's EMA weights are scored with ``--n`` (1500) DDIM-25 samples per seed (DDIM at 25
and 50 steps score alike, ``sampler_curve.py``) against the 1500-image training split, the same
``--seeds`` sampling seeds for every variant, and read as the paired difference to the CLI's
recipe seed by seed (mean ± SD over seeds). The FD at n = 1500 is not on notebook 08's n = 297
scale (its finite-sample bias is smaller); ``memorised`` is ``metrics.memorised_fraction`` (0.05
for fresh data). The CLI's recipe is also scored with the other samplers of
``dc.ddpm.EQUAL_COST`` at 25 and 50 network calls: the sampler part of the recipe.

    .venv-bench/bin/python benchmarks/recipe_sweep.py [--steps 1000] [--n 1500] [--seeds 3]

Prints a table and writes results/recipe_sweep.json.

One training run per variant cannot tell a recipe's gain from the luck of its initialisation and
batch order (the "training seed 1" row is that luck's size). ``--training-seeds 1 2`` trains every
selected variant, and the CLI's recipe, again at those training seeds (``TrainConfig.seed``: the
initial weights and the batch order); a row "NAME, training seed S" is paired with "the CLI's
recipe, training seed S", and ``across_training_seeds`` holds each variant's paired difference per
training seed with their mean and SD over training seeds:

    .venv-bench/bin/python benchmarks/recipe_sweep.py --only "lr 1e-3" --training-seeds 1 2 \
        --no-samplers --out benchmarks/results/recipe_seeds.json

(``results/recipe_seeds.json`` holds that run from when the CLI's rate was constant after the
warm-up, with the variant then named "lr cosine to 0", the CLI's recipe since.)
"""

import argparse
import copy
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

# time_to_quality first: it sets XLA_FLAGS before jax is imported
import time_to_quality as ttq  # noqa: E402, I001
import jax  # noqa: E402
import numpy as np  # noqa: E402
from tqdm import tqdm  # noqa: E402

import diffcourse as dc  # noqa: E402

BASE = "the CLI's recipe"
# name -> changes to the recipe: "config" (TrainConfig fields), "arch" (ddpm.Arch), "loss_kw"
# (ddpm.Loss), "t_sampler" / "lr_decay" (time_to_quality.ours_setup's overrides)
VARIANTS = {
    BASE: {},
    "training seed 1": {"config": {"seed": 1}},
    "lr 1e-3": {"config": {"lr": 1e-3}},
    "lr 4e-3": {"config": {"lr": 4e-3}},
    "lr constant after the warm-up": {"lr_decay": "constant"},
    "warm-up 50": {"config": {"warmup": 50}},
    "EMA 0.99": {"config": {"ema_decay": 0.99}},
    "batch 64": {"config": {"batch_size": 64}},
    "batch 256": {"config": {"batch_size": 256}},
    "ln sigma ~ N(-0.6, 1.2)": {"loss_kw": {"p_mean": -0.6}},
    "ln t uniform": {"t_sampler": "loguniform"},
    "FM weighting, tau uniform": {"t_sampler": "fm"},
    "FM weighting, logit tau ~ N(0, 1)": {"t_sampler": "fm-logit-normal"},
    "attention at 4x4": {"arch": {"attention": True}},
}
SAMPLER_CALLS = (25, 50)
SCORE_STEPS = 25  # DDIM steps of the variants' scores (25 and 50 score alike: sampler_curve.py)


def recipe_of(name: str, base: dict) -> dict:
    recipe = copy.deepcopy(base)
    for part, change in VARIANTS[name].items():
        if isinstance(change, dict):
            recipe.setdefault(part, {}).update(change)
        else:
            recipe[part] = change
    return recipe


def costs_differ(name: str) -> bool:
    change = VARIANTS[name]
    return "arch" in change or "batch_size" in change.get("config", {})


def timing_pass(names, base, train_x, rounds=3, block=25) -> dict:
    """Steps/s of each variant relative to the CLI's recipe: alternating blocks of ``block`` steps,
    ``rounds`` rounds, after one compiled warm step each; the median of the per-round ratios."""
    steppers = {}
    for name in [BASE, *names]:
        recipe = {**recipe_of(name, base), "total_steps": 1 + rounds * block}  # for a cosine
        step, _ = ttq.ours_setup(train_x, recipe, {})()
        step(0)
        steppers[name] = step
    rates = {name: [] for name in steppers}
    for r in range(rounds):
        for name, step in steppers.items():
            t0 = time.perf_counter()
            for k in range(block):
                step(1 + r * block + k)
            rates[name].append(block / (time.perf_counter() - t0))
    return {
        name: {
            "steps_per_s": float(np.median(v)),
            "relative": float(np.median(np.array(v) / np.array(rates[BASE]))),
        }
        for name, v in rates.items()
    }


def train_steps(name: str, recipe: dict, train_x, steps: int):
    """Train ``steps`` steps of ``recipe``; returns (EMA weights, holder with the model, seconds)."""
    holder = {}
    recipe = {**recipe, "total_steps": steps}
    step, snapshot = ttq.ours_setup(train_x, recipe, holder)()
    t0 = time.perf_counter()
    for k in tqdm(range(steps), desc=f"train {name}", file=sys.stderr, mininterval=5):
        step(k)
    return snapshot(), holder, time.perf_counter() - t0


def score_sets(make, train_x, held_x, seeds) -> dict:
    """Per-seed FD, confidence and class entropy (``metrics.scores_by_seed`` against the training
    split) and memorised fraction of ``make(seed)``."""
    memorised = []

    def make_and_check(seed):
        x = np.asarray(make(seed))
        memorised.append(float(dc.metrics.memorised_fraction(x, train_x, held_x)))
        return x

    out = dc.metrics.scores_by_seed(make_and_check, seeds, train=train_x)
    return {**out, "memorised": memorised}


def seeded(name: str, seed: int) -> str:
    return name if seed == 0 else f"{name}, training seed {seed}"


def paired(a, b):
    """Mean and SD (ddof 1) over seeds of ``a - b``."""
    d = np.asarray(a) - np.asarray(b)
    return float(d.mean()), float(d.std(ddof=1)) if len(d) > 1 else 0.0


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--steps", type=int, default=1000, help="the CLI recipe's steps; others: the same time"
    )
    p.add_argument("--n", type=int, default=1500, help="samples per seed")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--only", nargs="+", choices=list(VARIANTS), help="run only these variants")
    p.add_argument("--no-samplers", action="store_true", help="skip the sampler rows")
    p.add_argument(
        "--training-seeds",
        nargs="+",
        type=int,
        default=[0],
        help="train each variant (and the CLI's recipe) at each of these TrainConfig seeds",
    )
    p.add_argument("--out", default=str(ttq.RESULTS / "recipe_sweep.json"))
    a = p.parse_args(argv)
    train_x = dc.data.images.load_digits("train")[0]
    held_x = dc.data.images.load_digits("heldout")[0]
    seeds = list(range(a.seeds))
    base = ttq.cli_recipe()
    names = list(dict.fromkeys([BASE, *(a.only or VARIANTS)]))
    load = os.getloadavg()
    timing = timing_pass([n for n in names if costs_differ(n)], base, train_x)
    results = {}
    for name, tseed in [(n, s) for s in a.training_seeds for n in names]:
        recipe = recipe_of(name, base)
        if tseed != 0:
            if "seed" in VARIANTS[name].get("config", {}):
                continue  # the yardstick row is itself a training seed
            recipe.setdefault("config", {})["seed"] = tseed
        key, base_key = seeded(name, tseed), seeded(BASE, tseed)
        relative = timing[name]["relative"] if name in timing else 1.0
        steps = max(1, round(a.steps * relative))
        weights, holder, seconds = train_steps(key, recipe, train_x, steps)
        sample = ttq.ours_sampler(holder, SCORE_STEPS)
        res = {
            "changes": VARIANTS[name],
            "recipe": recipe,
            "relative_step_rate": relative,
            "steps": steps,
            "train_seconds_here": seconds,
            "ddim": score_sets(lambda s, w=weights, f=sample: f(w, a.n, s), train_x, held_x, seeds),
        }
        if key == BASE and not a.no_samplers:
            model = dc.train.unflatten(holder["model"], jax.numpy.asarray(weights))
            res["samplers"] = {}
            for label, (setting, lam, steps_for) in dc.ddpm.EQUAL_COST.items():
                for c in SAMPLER_CALLS:
                    k = steps_for(c)

                    def make(s, setting=setting, lam=lam, k=k, model=model):
                        x = dc.ddpm.sample(
                            jax.random.key(s), model, a.n, setting=setting, steps=k, lam=lam
                        )
                        return np.asarray(x, np.float32)[..., 0]

                    calls = dc.ddpm.calls_of(setting, k)
                    res["samplers"][f"{label}, {calls} calls"] = score_sets(
                        make, train_x, held_x, seeds
                    )
                    print(
                        f"  {label:16s} {calls:4d} calls  FD "
                        f"{np.mean(res['samplers'][f'{label}, {calls} calls']['fd']):6.2f}",
                        flush=True,
                    )
        results[key] = res
        fd = res["ddim"]["fd"]
        d = paired(fd, results[base_key]["ddim"]["fd"])
        print(
            f"{key:42s} {steps:5d} steps ({relative:4.2f}x rate)  FD {np.mean(fd):6.2f} ± "
            f"{np.std(fd, ddof=1) if len(fd) > 1 else 0:4.2f}  minus the CLI's {d[0]:+6.2f} ± {d[1]:4.2f}"
            f"  memorised {np.mean(res['ddim']['memorised']):.3f}",
            flush=True,
        )
    across = {}
    for name in names[1:]:
        rows = [(s, seeded(name, s)) for s in a.training_seeds if seeded(name, s) in results]
        per_seed = {
            s: paired(results[k]["ddim"]["fd"], results[seeded(BASE, s)]["ddim"]["fd"])[0]
            for s, k in rows
        }
        if len(per_seed) > 1:
            v = np.array(list(per_seed.values()))
            across[name] = {
                "paired_fd_difference_by_training_seed": per_seed,
                "mean": float(v.mean()),
                "sd": float(v.std(ddof=1)),
            }
            print(f"{name:26s} over training seeds {v.mean():+6.2f} ± {v.std(ddof=1):4.2f}")
    out = {
        "what": "the CLI's recipe with one change at a time, equal wall clock as steps; FD of "
        f"DDIM-{SCORE_STEPS} samples ({a.n} per seed) against the training split, paired by sampling seed",
        "base_steps": a.steps,
        "score_sampler": f"DDIM {SCORE_STEPS} steps",
        "timing": timing,
        "n": a.n,
        "seeds": seeds,
        "load_avg_at_start": [round(v, 2) for v in load],
        "cpu": ttq.cpu_model(),
        "versions": ttq.versions(),
        "training_seeds": a.training_seeds,
        "variants": results,
        "across_training_seeds": across,
    }
    with open(a.out, "w") as f:
        json.dump(ttq.jsonable(out), f, indent=1)
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
