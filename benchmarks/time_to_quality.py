"""Time to quality: training seconds to a sample-quality target, diffcourse's JAX DDPM against diffusers.

Run in the benchmark venv (not the course venv; it adds torch and diffusers), on a quiet machine:

    python3 -m venv .venv-bench
    .venv-bench/bin/pip install -r benchmarks/requirements.txt
    .venv-bench/bin/python benchmarks/time_to_quality.py [--marks 30 60 120 180 300 480] [--n 1000] [--seeds 3]

Two contenders, trained one after the other in this process (never concurrently), on the same data
(the digits' training split, 1500 images 8x8 in [-1, 1]) with the same batch size (128):

- the peer: diffusers' ``UNet2DModel`` (the config of ``ddpm_digits.py``: 32/64 channels, attention
  at 4x4, 8 groups, 701,345 parameters), the eps-MSE loss (Ho et al. 2020, eq. 14, "L_simple") on
  ``DDPMScheduler`` (linear betas 1e-4..0.02, 1000 steps, its ``add_noise``), ``torch.optim.AdamW``
  (lr 1e-3, torch's defaults otherwise: betas (0.9, 0.999), weight decay 0.01) with diffusers'
  ``get_constant_schedule_with_warmup`` (100 steps), grad-norm clip 1.0, diffusers' ``EMAModel``
  (decay 0.999, its (1 + k)/(10 + k) warm-up), shuffled epochs with the last partial batch dropped,
  torch with ``--torch-threads`` (2) threads, eager mode;
- ours: the course's model with the recipe of ``python -m diffcourse train`` (its parser's defaults,
  read from ``diffcourse.__main__.build_parser``: the digits U-Net, EDM's loss and preconditioning,
  Karras et al. 2022, with sigma_data the training data's RMS rounded to 4 decimals, lr 2e-3,
  warm-up 200, then the CLI's cosine to 0 at its last step, EMA 0.999, batch 128, seed 0; the
  cosine's last step is put at the last mark, from a step rate measured before the clock starts,
  ``--horizon-steps`` to give it: one run, so the earlier marks see a rate still high, which a
  run ending there would not have), trained by the compiled step the CLI uses
  (``dc.train.make_step``, with ``dc.train.fit``'s keys, batch order and sharding: the same
  parameters step for step as the CLI run) in a loop of this script's, so that snapshots can be
  taken between steps; no checkpoint files are written (the CLI writes one every 500 steps).

Training time is wall-clock (``time.perf_counter``) from before the model is built, the first
step's compile included (what a user waits for; recorded separately as ``first_step_s``), with
the clock paused while a snapshot of the EMA weights is taken. Every step is waited for (a loss
brought to the host), so the clock never runs ahead of the computation. A snapshot is taken at the
first step boundary at or after each mark (``--marks``); ``train_s`` is the clock then. Marks
passed within one step (the compile) share a snapshot.

After training (sampling is not training time) every snapshot is scored with the course's metrics
(``dc.metrics``: Fréchet distance in the digit classifier's features against the training split,
confidence, class entropy; and ``memorised_fraction(samples, train, heldout)``), ``--n`` samples
per seed, mean ± SD over ``--seeds`` seeds (``dc.metrics.score_over_seeds``, SD with ddof 0):
the peer with diffusers' ``DDIMPipeline`` (DDIMScheduler, Song et al. 2021, 50 steps, eta 0 and
eta 1, the latter DDPM's ancestral step; its defaults: "leading" spacing, ``set_alpha_to_one``,
``clip_sample=True``, which clamps the predicted x0 to [-1, 1], the data's range, so it is right
here and kept), ours with ``dc.ddpm.sample`` at 50 network calls with DDPM's ancestral step
(``setting="ddim-eta"``, lam 1) and DDIM (``"ddim"``), and at 10 with DDIM (the best samplers at
those costs in ``recipe_sweep.py``'s sampler rows), scored unclipped as the notebooks score them. Reference rows, computed the same way: a training subset of the same size
(the floor), the 297 held-out real digits, the full-covariance pixel Gaussian.

Time to quality: for each row, the training seconds at which its FD (mean over seeds) first
reaches (a) the peer's FD at the 300 s mark with the better of its two samplers there (or the
last mark below 300 s, or the first mark if all are later) and (b) 1.2 x the held-out FD, interpolating FD linearly in log training time between
snapshots; "not reached" if it never does; the ratio ours/peer.

Honesty rules: before each contender trains, the 1-minute load average must be at most 1.5; the
script waits up to ``--settle`` seconds for it (the previous contender's own threads linger in
it), then refuses (exit code 3) unless ``--allow-load`` is given, in which case the JSON and the
table say "LOADED MACHINE". JSON to benchmarks/results/time_to_quality[_TAG].json, figure beside it.
"""

import argparse
import copy
import json
import math
import os
import pathlib
import platform
import subprocess
import sys
import time

os.environ.setdefault("XLA_FLAGS", "--xla_cpu_experimental_ynn_fusion_type=-individual_convolution")

import jax  # noqa: E402
import numpy as np  # noqa: E402
from jax.sharding import NamedSharding  # noqa: E402
from jax.sharding import PartitionSpec as P  # noqa: E402
from tqdm import tqdm  # noqa: E402

import diffcourse as dc  # noqa: E402
from diffcourse import metrics  # noqa: E402

RESULTS = pathlib.Path(__file__).parent / "results"
MARKS = (30, 60, 120, 180, 300, 480)
MAX_LOAD = 1.5
BATCH = 128
PEER_MARK = 300  # target (a): the peer's FD at this mark
HELDOUT_FACTOR = 1.2  # target (b): this times the held-out FD
LOADED = "LOADED MACHINE"
# the peer: row -> DDIMPipeline's eta at 50 steps (eta 1: DDPM's ancestral step, Song et al. 2021
# eq. 16); target (a) is the better of the two rows at the 300 s mark
PEER_ROWS = {"peer, DDIM 50 steps": 0.0, "peer, DDPM 50 steps": 1.0}
# ours: row -> (dc.ddpm.sample's setting, lam, steps); at 50 network calls the two best samplers
# of recipe_sweep.py's sampler rows (DDPM ancestral and DDIM), at 10 the best (DDIM)
OURS_ROWS = {
    "ours, DDPM 50 steps": ("ddim-eta", 1.0, 50),
    "ours, DDIM 50 steps": ("ddim", None, 50),
    "ours, DDIM 10 steps": ("ddim", None, 10),
}
REFERENCE_ROWS = metrics.REFERENCE_ROWS


class LoadError(RuntimeError):
    """The machine is busy (1-minute load average above MAX_LOAD) and --allow-load was not given."""


# --------------------------------------------------------------------------------------------
# the machine


def cpu_model() -> str:
    """The ``model name`` line of /proc/cpuinfo (else ``platform.processor()``)."""
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def versions() -> dict:
    """Versions of Python, the libraries both contenders run on, and the repository's commit."""
    from importlib import metadata

    out = {"python": platform.python_version()}
    for name in ("jax", "jaxlib", "numpy", "torch", "diffusers", "diffcourse"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    try:
        out["git_commit"] = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=pathlib.Path(__file__).parent,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        out["git_commit"] = "unknown"
    return out


def check_load(name: str, allow_load: bool, settle: float) -> dict:
    """The load average before ``name`` trains: ``{"load_avg": (1, 5, 15 min), "loaded": bool}``.

    Waits up to ``settle`` seconds for the 1-minute average to fall to MAX_LOAD (the previous
    contender's threads decay out of it in about a minute); above it then, raises
    :class:`LoadError`, or with ``allow_load`` returns ``loaded=True``."""
    load = os.getloadavg()
    if load[0] > MAX_LOAD and not allow_load and settle > 0:
        print(
            f"{name}: 1-minute load average {load[0]:.2f} > {MAX_LOAD}; waiting up to "
            f"{settle:.0f} s for it to settle",
            flush=True,
        )
        deadline = time.monotonic() + settle
        while load[0] > MAX_LOAD and time.monotonic() < deadline:
            time.sleep(5)
            load = os.getloadavg()
    if load[0] > MAX_LOAD and not allow_load:
        raise LoadError(
            f"refusing to train {name}: the 1-minute load average is {load[0]:.2f} (> {MAX_LOAD}); "
            "the machine is busy and the times would not mean anything. Run it on a quiet "
            f"machine, or pass --allow-load to mark the results {LOADED!r}."
        )
    return {"load_avg": [round(v, 2) for v in load], "loaded": load[0] > MAX_LOAD}


# --------------------------------------------------------------------------------------------
# training to wall-clock marks


class Clock:
    """Training seconds: wall-clock time since the start, less the time spent paused."""

    def __init__(self):
        self.paused_total, self.paused_at = 0.0, None
        self.start = time.perf_counter()

    def now(self) -> float:
        end = self.paused_at if self.paused_at is not None else time.perf_counter()
        return end - self.start - self.paused_total

    def pause(self):
        self.paused_at = time.perf_counter()

    def resume(self):
        self.paused_total += time.perf_counter() - self.paused_at
        self.paused_at = None


def train_to_marks(name: str, setup, marks) -> dict:
    """Train one contender until its clock passes the last mark, snapshotting at each mark.

    ``setup()`` builds the model and returns ``(step, snapshot)``: ``step(k)`` runs training step
    k to completion and returns its loss; ``snapshot()`` returns a host copy of the EMA weights.
    Returns the times (setup, first step, total), steps/s and ``snapshots``: one per mark,
    ``{"mark_s", "train_s", "steps", "weights"}`` (marks passed in one step share weights)."""
    clock = Clock()
    step, snapshot = setup()
    setup_s = clock.now()
    pending, snapshots, losses = list(marks), [], []
    first_step_s, k = None, 0
    fmt = "{desc}: {n:.0f}/{total:.0f} s |{bar}| [{elapsed} wall{postfix}]"
    with tqdm(total=marks[-1], desc=f"train {name}", bar_format=fmt, file=sys.stderr) as bar:
        while pending:
            losses.append(step(k))
            k += 1
            now = clock.now()
            if first_step_s is None:
                first_step_s = now - setup_s
            bar.set_postfix(step=k, loss=f"{losses[-1]:.4f}", refresh=False)
            bar.update(min(now, marks[-1]) - bar.n)
            if now < pending[0]:
                continue
            clock.pause()
            weights = snapshot()
            while pending and now >= pending[0]:
                snapshots.append(
                    {"mark_s": pending.pop(0), "train_s": now, "steps": k, "weights": weights}
                )
            clock.resume()
    total = clock.now()
    return {
        "setup_s": setup_s,
        "first_step_s": first_step_s,
        "train_s": total,
        "steps": k,
        "steps_per_s": k / total,
        "steps_per_s_after_first": (k - 1) / (total - setup_s - first_step_s) if k > 1 else None,
        "final_loss_mean_last_100": float(np.mean(losses[-100:])),
        "snapshots": snapshots,
    }


def peer_unet():
    """The peer: diffusers' UNet2DModel with ddpm_digits.py's 8x8 config (701,345 parameters)."""
    from diffusers import UNet2DModel

    return UNet2DModel(
        sample_size=8,
        in_channels=1,
        out_channels=1,
        layers_per_block=1,
        block_out_channels=(32, 64),
        down_block_types=("DownBlock2D", "AttnDownBlock2D"),
        up_block_types=("AttnUpBlock2D", "UpBlock2D"),
        norm_num_groups=8,
    )


PEER_RECIPE = {
    "model": "diffusers UNet2DModel, ddpm_digits.py's config (32/64 channels, attention at 4x4)",
    "loss": "eps-MSE (Ho et al. 2020 L_simple), t uniform on 0..999",
    "noise schedule": "DDPMScheduler(num_train_timesteps=1000, beta_schedule='linear')",
    "optimizer": "torch.optim.AdamW(lr=1e-3), torch defaults otherwise (weight_decay=0.01)",
    "lr schedule": "diffusers get_constant_schedule_with_warmup(num_warmup_steps=100)",
    "clip_grad_norm": 1.0,
    "ema": "diffusers.training_utils.EMAModel(decay=0.999, foreach=True)",
    "batch_size": BATCH,
    "batches": "torch.randperm per epoch, last partial batch dropped",
    "seed": 0,
}


def peer_setup(x, threads: int, holder: dict):
    """``setup`` for :func:`train_to_marks`: the peer (see the module docstring). The network goes
    to ``holder["net"]`` (the sampler needs its structure)."""
    import torch
    from diffusers import DDPMScheduler
    from diffusers.optimization import get_constant_schedule_with_warmup
    from diffusers.training_utils import EMAModel

    def setup():
        torch.set_num_threads(threads)
        torch.manual_seed(0)
        net = peer_unet()
        scheduler = DDPMScheduler(num_train_timesteps=1000, beta_schedule="linear")
        opt = torch.optim.AdamW(net.parameters(), lr=1e-3)
        lr_schedule = get_constant_schedule_with_warmup(opt, num_warmup_steps=100)
        ema = EMAModel(net.parameters(), decay=0.999, foreach=True)
        data = torch.from_numpy(np.ascontiguousarray(x[:, None]))  # (N, 1, 8, 8)
        gen = torch.Generator().manual_seed(0)
        per_epoch = len(data) // BATCH
        order = {}
        holder["net"], holder["scheduler_config"] = net, scheduler.config

        def step(k):
            epoch, i = divmod(k, per_epoch)
            if order.get("epoch") != epoch:
                order["epoch"], order["perm"] = epoch, torch.randperm(len(data), generator=gen)
            y = data[order["perm"][i * BATCH : (i + 1) * BATCH]]
            noise = torch.randn(y.shape, generator=gen)
            t = torch.randint(0, scheduler.config.num_train_timesteps, (BATCH,), generator=gen)
            pred = net(scheduler.add_noise(y, noise, t), t).sample
            loss = torch.nn.functional.mse_loss(pred, noise)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            opt.step()
            lr_schedule.step()
            ema.step(net.parameters())
            return loss.item()

        def snapshot():
            return [p.detach().clone() for p in ema.shadow_params]

        return step, snapshot

    return setup


def cli_recipe() -> dict:
    """The defaults of ``python -m diffcourse train``, read from its parser."""
    from diffcourse.__main__ import build_parser

    a = build_parser().parse_args(["train", "--steps", "1", "--out", "unused"])
    return {
        "data": a.data,
        "arch": {
            "channels": a.channels,
            "channel_mults": tuple(int(m) for m in a.channel_mults.split(",")),
            "blocks": a.blocks,
            "attention": a.attention,
            "groups": a.groups,
        },
        "loss": a.param,
        "lr_decay": a.lr_schedule,
        "config": {
            "batch_size": a.batch_size,
            "lr": a.lr,
            "warmup": a.warmup,
            "ema_decay": a.ema_decay,
            "seed": a.seed,
        },
    }


def ours_setup(x, recipe: dict, holder: dict):
    """``setup`` for :func:`train_to_marks`: ours, as ``ddpm.train_images`` and ``train.fit`` set it
    up for the CLI (the same keys, model, loss, optimiser, step, batch order and sharding). The
    model goes to ``holder["model"]`` (the sampler needs its structure)."""
    images = x[..., None]  # (N, 8, 8, 1), as train_images makes them

    def setup():
        # a cold compile, as a user's first run has: no persistent compilation cache (set before
        # this process's first compile, when JAX decides whether to use one)
        jax.config.update("jax_enable_compilation_cache", False)
        cfg = recipe["config"]
        key = jax.random.key(cfg["seed"])
        k_init, k_train = jax.random.split(key)
        arch = dc.ddpm.Arch(**recipe["arch"])
        sd = round(dc.nets.precond.sigma_data(images), 4)
        loss = dc.ddpm.Loss(kind=recipe["loss"], sigma_data=sd, **recipe.get("loss_kw", {}))
        model = dc.ddpm.build(k_init, images.shape[1:], arch, loss)
        loss_fn = loss.loss_fn()
        other = recipe.get("t_sampler")
        if other is not None:  # another noise-level law (and weighting) on the same network
            weighting, t_sampler = {
                # ln t uniform on the log-normal's range, EDM's weighting
                "loguniform": (dc.losses.edm_weighting(sd), dc.losses.LogUniform(*model.t_range)),
                # flow matching's objective: w = 1/tau^2, tau uniform (rectified flow)
                "fm": (dc.flow.fm_weighting, dc.flow.TauUniform()),
                # w = 1/tau^2, logit tau ~ N(0, 1) (Esser et al. 2024)
                "fm-logit-normal": (dc.flow.fm_weighting, dc.flow.LogitNormal()),
            }[other]
            loss_fn = dc.losses.make_loss_fn(weighting=weighting, t_sampler=t_sampler, per_dim=True)
        if recipe.get("lr_decay") == "cosine":  # warm-up, then cosine to 0 at total_steps
            cfg = {**cfg, "lr_decay_steps": max(recipe["total_steps"], cfg["warmup"] + 1)}
        config = dc.train.TrainConfig(steps=1, **cfg)  # steps: not used by the step
        opt = dc.train.optimizer(config)
        mesh = dc.train.data_mesh()
        step_fn = dc.train.make_step(model, loss_fn, opt, config.ema_decay, mesh)
        state = {"s": jax.device_put(dc.train.init_state(model, opt), NamedSharding(mesh, P()))}
        key_data = jax.random.key_data(k_train)
        batch_sharding = NamedSharding(mesh, P("batch"))
        holder["model"], holder["sigma_data"] = model, sd

        def step(k):
            idx = dc.train.batch_indices(len(images), config.batch_size, config.seed, k)
            batch = jax.device_put(images[idx], batch_sharding)
            state["s"], (loss_k, _, ok) = step_fn(state["s"], batch, key_data)
            if not bool(ok):
                raise RuntimeError(f"ours: a non-finite loss or update at step {k + 1}")
            return float(loss_k)

        def snapshot():  # a host copy: the step donates the state's buffers
            return np.array(state["s"]["ema"])

        return step, snapshot

    return setup


def cosine_horizon(x, recipe: dict, last_mark: float, steps: int = 40) -> dict:
    """The step at which ours' cosine reaches 0, so that it ends at the last mark: ``steps`` steps
    of ``recipe`` with a constant rate (the same cost per step) after one compiled step, timed;
    the horizon is that rate times the last mark less the compile. Then every compiled program
    is dropped (``jax.clear_caches``), so the timed run compiles cold, as a user's does."""
    step, _ = ours_setup(x, {**recipe, "lr_decay": "constant"}, {})()
    t0 = time.perf_counter()
    step(0)
    compile_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    for k in range(1, 1 + steps):
        step(k)
    rate = steps / (time.perf_counter() - t0)
    jax.clear_caches()
    horizon = max(recipe["config"]["warmup"] + 1, round(rate * (last_mark - compile_s)))
    return {"steps_per_s": rate, "compile_s": compile_s, "horizon_steps": horizon}


# --------------------------------------------------------------------------------------------
# scoring


def peer_sampler(holder: dict, steps: int = 50, eta: float = 0.0):
    """``sample(weights, n, seed)``: diffusers' DDIMPipeline (``eta``, ``steps`` steps) on the peer
    with the snapshot ``weights``, images (n, 8, 8) in [-1, 1]."""
    import torch
    from diffusers import DDIMPipeline, DDIMScheduler

    net = copy.deepcopy(holder["net"]).eval()
    scheduler = DDIMScheduler.from_config(holder["scheduler_config"])
    assert scheduler.config.clip_sample and scheduler.config.timestep_spacing == "leading"
    pipe = DDIMPipeline(unet=net, scheduler=scheduler)
    pipe.set_progress_bar_config(disable=True)

    def sample(weights, n, seed):
        with torch.no_grad():
            for p, w in zip(net.parameters(), weights, strict=True):
                p.copy_(w)
        out = pipe(
            batch_size=n,
            generator=torch.Generator().manual_seed(seed),
            eta=eta,
            num_inference_steps=steps,
            output_type="np",
        ).images  # (n, 8, 8, 1) in [0, 1]: the pipeline's (x / 2 + 0.5).clamp(0, 1)
        return 2.0 * out[..., 0].astype(np.float32) - 1.0

    return sample


def ours_sampler(holder: dict, steps: int, setting: str = "ddim", lam=None):
    """``sample(weights, n, seed)``: ``dc.ddpm.sample(setting=setting, steps=steps, lam=lam)`` on
    ours with the snapshot ``weights`` (the flat EMA vector), images (n, 8, 8), unclipped."""

    def sample(weights, n, seed):
        model = dc.train.unflatten(holder["model"], jax.numpy.asarray(weights))
        x = dc.ddpm.sample(jax.random.key(seed), model, n, setting=setting, steps=steps, lam=lam)
        return np.asarray(x, np.float32)[..., 0]

    return sample


def scorer(train_x, held_x, seeds, bar):
    """``score(make)``: ``metrics.score_over_seeds(make, seeds)`` (FD against the training split,
    confidence, class entropy) plus ``memorised``, the mean and SD over seeds of
    ``metrics.memorised_fraction(samples, train, heldout)``."""

    def score(make):
        memorised = []

        def make_and_count(seed):
            x = np.asarray(make(seed))
            memorised.append(metrics.memorised_fraction(x, train_x, held_x))
            bar.update(1)
            return x

        row = metrics.score_over_seeds(make_and_count, seeds)
        row["memorised"] = (float(np.mean(memorised)), float(np.std(memorised)))
        return row

    return score


# --------------------------------------------------------------------------------------------
# time to quality


def time_to(points, target: float):
    """Training seconds at which FD first reaches ``target``: ``(seconds, note)``.

    ``points``: ``(train_s, fd)`` in training order. Between snapshots, FD is linear in
    log(train_s). ``seconds`` is "not reached" if no snapshot reaches it; ``note`` says when the
    first snapshot already had (the time is then an upper bound)."""
    unique = []
    for t, fd in points:
        if not unique or t > unique[-1][0]:
            unique.append((t, fd))
    if unique[0][1] <= target:
        return unique[0][0], "at or before the first snapshot"
    for (t0, f0), (t1, f1) in zip(unique, unique[1:], strict=False):
        if f1 <= target:
            frac = (f0 - target) / (f0 - f1)
            return math.exp(math.log(t0) + frac * (math.log(t1) - math.log(t0))), ""
    return "not reached", ""


def time_to_quality(rows: dict, references: dict, marks) -> dict:
    """The two targets, each row's seconds to them, and the ratios ours/peer."""
    below = [m for m in marks if m <= PEER_MARK]
    peer_mark = below[-1] if below else marks[0]
    at_mark = {
        row: next(s for s in rows[row] if s["mark_s"] == peer_mark)["scores"]["fd"][0]
        for row in PEER_ROWS
    }
    peer_row = min(at_mark, key=at_mark.get)  # the peer's better sampler at the mark
    held = references["held-out real digits"]["fd"][0]
    targets = {
        "peer_fd_at_mark": {
            "fd": at_mark[peer_row],
            "mark_s": peer_mark,
            "what": f"the peer's best FD at the {peer_mark:g} s mark ({peer_row})",
        },
        "heldout_x1.2": {
            "fd": HELDOUT_FACTOR * held,
            "what": f"{HELDOUT_FACTOR} x the held-out FD ({held:.2f})",
        },
    }
    out = {}
    for name, target in targets.items():
        result = {"target_fd": target["fd"], "what": target["what"], "seconds": {}, "notes": {}}
        result["peer_row"] = peer_row
        if "mark_s" in target:
            result["mark_s"] = target["mark_s"]
        for row, snaps in rows.items():
            seconds, note = time_to(
                [(s["train_s"], s["scores"]["fd"][0]) for s in snaps], target["fd"]
            )
            result["seconds"][row] = seconds
            if note:
                result["notes"][row] = note
        peer = result["seconds"][peer_row]
        result["ratio_ours_to_peer"] = {
            row: result["seconds"][row] / peer
            if isinstance(peer, float) and isinstance(result["seconds"][row], float)
            else "n/a"
            for row in OURS_ROWS
        }
        out[name] = result
    return out


# --------------------------------------------------------------------------------------------
# output


def fmt_pm(pair, digits=2) -> str:
    return f"{pair[0]:.{digits}f} ± {pair[1]:.{digits}f}"


def table(result: dict) -> str:
    """The text table: one line per (row, mark), then the reference rows."""
    head = f"{'':26s} {'mark s':>6s} {'train s':>8s} {'steps':>6s} {'FD':>14s} {'confidence':>12s} {'entropy':>12s} {'memorised':>12s}"
    lines = [head]

    def line(name, mark, train_s, steps, sc):
        return (
            f"{name:26s} {mark:>6s} {train_s:>8s} {steps:>6s} {fmt_pm(sc['fd']):>14s} "
            f"{fmt_pm(sc['confidence'], 3):>12s} {fmt_pm(sc['class_entropy'], 3):>12s} "
            f"{fmt_pm(sc['memorised'], 3):>12s}"
        )

    for name, snaps in result["rows"].items():
        for s in snaps:
            lines.append(
                line(name, f"{s['mark_s']:g}", f"{s['train_s']:.1f}", str(s["steps"]), s["scores"])
            )
    for name, sc in result["references"].items():
        lines.append(line(name, "", "", "", sc))
    return "\n".join(lines)


def ttq_lines(ttq: dict) -> list[str]:
    lines = []
    for result in ttq.values():
        lines.append(f"time to FD <= {result['target_fd']:.2f} ({result['what']}):")
        for row, seconds in result["seconds"].items():
            s = f"{seconds:.1f} s" if isinstance(seconds, float) else seconds
            line = f"  {row:24s} {s:>12s}"
            ratio = result["ratio_ours_to_peer"].get(row, "n/a")
            if ratio != "n/a":
                line += f"  (ours/peer {ratio:.2f})"
            if row in result["notes"]:
                line += f"  [{result['notes'][row]}]"
            lines.append(line)
    return lines


def figure(path: pathlib.Path, result: dict):
    """FD against training seconds (log-log), error bars the SD over seeds; the floor, the
    held-out digits and target (b) as horizontal lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    for (name, snaps), style in zip(
        result["rows"].items(),
        [
            ("C0", "o", "-"),
            ("C0", "v", "--"),
            ("C1", "D", "-"),
            ("C1", "s", "--"),
            ("C1", "^", ":"),
        ],
        strict=True,
    ):
        t = [s["train_s"] for s in snaps]
        fd = np.array([s["scores"]["fd"] for s in snaps])
        ax.errorbar(
            t, fd[:, 0], yerr=fd[:, 1], color=style[0], marker=style[1], ls=style[2], capsize=3
        )
        ax.plot([], [], color=style[0], marker=style[1], ls=style[2], label=name)
    refs = result["references"]
    held = refs["held-out real digits"]["fd"][0]
    ax.axhline(
        refs["training subset (floor)"]["fd"][0],
        color="0.5",
        ls=":",
        label="floor: training subset",
    )
    ax.axhline(held, color="k", ls="-.", lw=1, label="held-out real digits")
    ax.axhline(HELDOUT_FACTOR * held, color="k", ls=":", lw=1, label="1.2 x held-out")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks(result["meta"]["marks_s"], [f"{m:g}" for m in result["meta"]["marks_s"]])
    ax.minorticks_off()
    ax.set_xlabel("training seconds (wall clock, compile included)")
    ax.set_ylabel("FD (digit classifier features)")
    meta = result["meta"]
    title = f"time to quality, digits 8x8, batch {BATCH}, {meta['cpu']} ({meta['cpus']} CPUs)"
    if meta["loaded_machine"]:
        title += f"\n{LOADED}"
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def jsonable(x):
    """Snapshots without their weights, tuples as lists, numpy numbers as floats."""
    if isinstance(x, dict):
        return {k: jsonable(v) for k, v in x.items() if k != "weights"}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    if isinstance(x, np.generic):
        return x.item()
    return x


# --------------------------------------------------------------------------------------------
# main


def parse_args(argv):
    p = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--marks",
        type=float,
        nargs="+",
        default=list(MARKS),
        help="training-time marks in seconds, increasing (default: %(default)s)",
    )
    p.add_argument("--n", type=int, default=1000, help="samples per seed (default: 1000)")
    p.add_argument("--seeds", type=int, default=3, help="seeds per row (default: 3)")
    p.add_argument("--torch-threads", type=int, default=2, help="the peer's torch threads (2)")
    p.add_argument(
        "--allow-load",
        action="store_true",
        help=f"train even if the 1-minute load average is above {MAX_LOAD} (marked {LOADED!r})",
    )
    p.add_argument(
        "--settle",
        type=float,
        default=300,
        help="seconds to wait for the load average to settle before each contender (300)",
    )
    p.add_argument(
        "--horizon-steps",
        type=int,
        help="the step where ours' cosine learning rate reaches 0 (default: measured, so that it "
        "ends at the last mark)",
    )
    p.add_argument("--tag", default="", help="results go to time_to_quality_TAG.json / .png")
    p.add_argument("--out-dir", type=pathlib.Path, default=RESULTS, help="benchmarks/results")
    a = p.parse_args(argv)
    if any(m <= 0 for m in a.marks) or any(
        b <= m for m, b in zip(a.marks, a.marks[1:], strict=False)
    ):
        p.error(f"--marks must be positive and strictly increasing; got {a.marks}")
    if a.horizon_steps is not None and a.horizon_steps < 1:
        p.error(f"--horizon-steps must be a positive integer; got {a.horizon_steps}")
    if a.n < 2 or a.seeds < 1 or a.torch_threads < 1:
        p.error("--n must be >= 2, --seeds >= 1, --torch-threads >= 1")
    return a


def main(argv=None) -> int:
    a = parse_args(argv)
    train_x = dc.data.images.load_digits("train")[0]
    held_x = dc.data.images.load_digits("heldout")[0]
    recipe = cli_recipe()
    if recipe["config"]["batch_size"] != BATCH or recipe["data"] != "digits":
        raise SystemExit(f"the CLI's defaults changed ({recipe}); this benchmark assumes batch 128")
    seeds = list(range(a.seeds))
    meta = {
        "cpu": cpu_model(),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "versions": versions(),
        "xla_flags": os.environ.get("XLA_FLAGS", ""),
        "data": f"the digits' training split ({len(train_x)} images, 8x8 in [-1, 1]) for both contenders",
        "batch_size": BATCH,
        "marks_s": a.marks,
        "n": a.n,
        "seeds": seeds,
        "torch_threads": a.torch_threads,
        "max_load": MAX_LOAD,
        "allow_load": a.allow_load,
    }
    contenders, holders = {}, {"peer": {}, "ours": {}}
    setups = {
        "peer": peer_setup(train_x, a.torch_threads, holders["peer"]),
        "ours": ours_setup(train_x, recipe, holders["ours"]),
    }
    for name, setup in setups.items():  # one after the other, each alone
        if name == "ours" and recipe["lr_decay"] == "cosine":  # its cosine ends at the last mark
            horizon = {"horizon_steps": a.horizon_steps, "given": True}
            if a.horizon_steps is None:
                horizon = {**cosine_horizon(train_x, recipe, a.marks[-1]), "given": False}
            recipe["total_steps"] = meta["ours_cosine_horizon"] = horizon["horizon_steps"]
            print(f"ours: cosine learning rate to 0 at step {recipe['total_steps']}", flush=True)
        try:
            load = check_load(name, a.allow_load, a.settle)
        except LoadError as err:
            print(f"time_to_quality: {err}", file=sys.stderr)
            return 3
        print(f"{name}: load average at start {load['load_avg']}", flush=True)
        contenders[name] = {**load, **train_to_marks(name, setup, a.marks)}
    contenders["peer"]["params"] = sum(p.numel() for p in holders["peer"]["net"].parameters())
    contenders["ours"]["params"] = dc.nets.unet.n_params(holders["ours"]["model"])
    contenders["peer"]["recipe"] = PEER_RECIPE
    contenders["ours"]["recipe"] = {
        **recipe,
        "sigma_data": holders["ours"]["sigma_data"],
        "trainer": "dc.train.make_step (the CLI's compiled step), fit's batch order and keys",
    }
    meta["loaded_machine"] = any(c["loaded"] for c in contenders.values())

    n_train = min(a.n, len(train_x))
    rows_to_score = len(PEER_ROWS) + len(OURS_ROWS)
    total = len(seeds) * (len(REFERENCE_ROWS) + rows_to_score * len(a.marks))
    with tqdm(total=total, desc="score", unit="sample set", file=sys.stderr) as bar:
        score = scorer(train_x, held_x, seeds, bar)
        references = {
            name: score(make)
            for name, make in metrics.reference_samples(train_x, held_x, a.n).items()
        }
        samplers = {
            row: ("peer", peer_sampler(holders["peer"], 50, eta)) for row, eta in PEER_ROWS.items()
        }
        for row, (setting, lam, steps) in OURS_ROWS.items():
            samplers[row] = ("ours", ours_sampler(holders["ours"], steps, setting, lam))
        rows = {}
        for row, (name, sample) in samplers.items():
            rows[row], cache = [], {}
            for snap in contenders[name]["snapshots"]:
                if snap["steps"] not in cache:  # marks passed in one step share a snapshot
                    w = snap["weights"]
                    cache[snap["steps"]] = score(lambda s, w=w, f=sample: f(w, a.n, s))
                else:
                    bar.update(len(seeds))
                rows[row].append({**snap, "scores": cache[snap["steps"]]})
    meta["reference_notes"] = {
        REFERENCE_ROWS[0]: f"{n_train} training images per seed (without replacement)"
        + (f"; --n {a.n} is more than the {len(train_x)} there are" if a.n > len(train_x) else ""),
        REFERENCE_ROWS[1]: f"all {len(held_x)} held-out digits, the same set for every seed",
        REFERENCE_ROWS[2]: f"{a.n} draws per seed, unclipped (metrics.gaussian_baseline)",
    }
    result = {"meta": meta, "contenders": contenders, "references": references, "rows": rows}
    result["time_to_quality"] = time_to_quality(rows, references, a.marks)

    banner = (
        f"*** {LOADED}: load average above {MAX_LOAD} (--allow-load); times are not comparable ***"
    )
    out = [banner] if meta["loaded_machine"] else []
    out += [
        f"CPU {meta['cpu']} ({meta['cpus']} CPUs); "
        + ", ".join(f"{k} {v}" for k, v in meta["versions"].items()),
        f"data: {meta['data']}; batch {BATCH}; scored with {a.n} samples x {len(seeds)} seeds",
        "peer samplers: diffusers DDIMPipeline, 50 steps, eta 0 (DDIM) and 1 (DDPM), "
        "clip_sample=True (its default); ours: dc.ddpm.sample, DDPM (ddim-eta, lam 1) and DDIM "
        "at 50 steps, DDIM at 10, unclipped",
    ]
    for name, c in contenders.items():
        out.append(
            f"{name} ({c['params']:,} parameters): load average at start {c['load_avg']}; setup {c['setup_s']:.1f} s, first "
            f"step (compile included) {c['first_step_s']:.1f} s; {c['steps']} steps in {c['train_s']:.1f} s "
            f"= {c['steps_per_s']:.2f} steps/s"
            + (f" ({after:.2f} after the first)" if (after := c["steps_per_s_after_first"]) else "")
        )
    out += ["", table(result), "", *ttq_lines(result["time_to_quality"])]
    if meta["loaded_machine"]:
        out.append(banner)
    print("\n".join(out))

    stem = "time_to_quality" + (f"_{a.tag}" if a.tag else "")
    a.out_dir.mkdir(parents=True, exist_ok=True)
    json_path, png_path = a.out_dir / f"{stem}.json", a.out_dir / f"{stem}.png"
    record = jsonable(result)
    if meta["loaded_machine"]:
        record = {"warning": banner, **record}
    json_path.write_text(json.dumps(record, indent=1, allow_nan=False))
    figure(png_path, result)
    print(f"wrote {json_path} and {png_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
