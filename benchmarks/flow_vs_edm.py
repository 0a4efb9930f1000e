"""Flow matching against EDM training on the digits, same U-Net, same training steps, same trainer.

Both models are the course's digits U-Net (``ddpm.Arch``) trained by ``dc.train.fit`` with the same
steps, batch, learning rate and EMA; only the loss and the preconditioning differ:

- EDM: ``ddpm.build`` (EDM's preconditioning with sigma_d the data's RMS), EDM's weighting and
  log-normal sigma (``ddpm.Loss(kind="edm")``);
- FM: the same U-Net read as a velocity (``flow.VelocityModel``), the flow-matching loss
  (``flow.make_loss_fn``: w = 1/tau^2, tau uniform), i.e. rectified flow's objective.

The wall-clock of each training run is measured and reported (the budget is equal when the two
times agree). Each model is then sampled with several step rules against the number of network
calls and scored with ``dc.metrics.evaluate`` (Fréchet distance in the digit classifier's features,
confidence, class entropy), with notebook 08's floor (held-out real digits) and a baseline
(a Gaussian with the training pixels' mean and covariance).

    .venv/bin/python benchmarks/flow_vs_edm.py --steps 1000 --out benchmarks/results/flow_vs_edm.json
"""

import argparse
import json
import os
import pathlib
import time

os.environ.setdefault("XLA_FLAGS", "--xla_cpu_experimental_ynn_fusion_type=-individual_convolution")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

import diffcourse as dc  # noqa: E402
from diffcourse import flow, samplers  # noqa: E402
from diffcourse.nets.precond import sigma_data  # noqa: E402
from diffcourse.nets.unet import UNet  # noqa: E402


def train_both(key, images, steps, channels, batch_size, lr):
    """Train the EDM and the FM U-Net for ``steps`` steps each; returns models and wall-clocks."""
    x = np.asarray(images, np.float32)[..., None]
    arch = dc.ddpm.Arch(channels=channels)
    loss = dc.ddpm.Loss(kind="edm", sigma_data=round(sigma_data(x), 4))
    config = dc.train.TrainConfig(
        steps=steps, batch_size=batch_size, lr=lr, warmup=min(100, steps // 5)
    )
    k_init, k_train = jax.random.split(key)
    edm = dc.ddpm.build(k_init, x.shape[1:], arch, loss)
    net = UNet(k_init, in_channels=1, channels=channels, channel_mults=arch.channel_mults)
    fm = flow.VelocityModel(net, shape=x.shape[1:], tau_range=(1e-3, 0.999))
    out = {}
    for name, model, loss_fn in [
        ("edm", edm, loss.loss_fn()),
        ("fm", fm, flow.make_loss_fn(per_dim=True)),
    ]:
        t0 = time.perf_counter()
        result = dc.train.fit(k_train, model, loss_fn, x, config, progress=False)
        out[name] = (result.ema_model, time.perf_counter() - t0)
    return out


def sample_fm(model, n, calls, step, key):
    """Flow matching's sampler: ``calls`` Euler steps in tau (= DDIM) from x = eps at tau = 0.999,
    or Heun in sigma on the same tau grid (2 calls per step but the last)."""
    k = calls if step is samplers.ddim else (calls + 1) // 2
    eps = jax.random.normal(key, (n, *model.shape), jnp.float32)
    return flow.sample(jax.random.key(0), model, eps, flow.tau_grid(k), step=step)


def sample_edm(model, n, calls, step, key):
    """EDM's grid (Karras rho = 7 inside the training range): DDIM or Heun."""
    k = calls if step is samplers.ddim else (calls + 1) // 2
    lo, hi = model.t_range
    ts = samplers.karras_grid(k, lo, hi)
    z = np.sqrt(ts[0] + model.sigma_data**2) * jax.random.normal(
        key, (n, *model.shape), jnp.float32
    )
    return samplers.sample(jax.random.key(0), model, z, ts, step=step)


def gaussian_baseline(key, images, n):
    x = np.asarray(images, np.float64).reshape(len(images), -1)
    mean, cov = x.mean(0), np.cov(x, rowvar=False)
    draws = np.random.default_rng(0).multivariate_normal(mean, cov, n)
    return np.clip(draws, -1, 1).reshape(n, *images.shape[1:])


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--channels", type=int, default=32)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--n", type=int, default=297, help="samples per row (the held-out split's size)")
    p.add_argument("--calls", type=int, nargs="+", default=[1, 2, 4, 8, 16, 32])
    p.add_argument("--out", type=pathlib.Path, default=None)
    a = p.parse_args()
    train_x, _ = dc.data.images.load_digits("train")
    models = train_both(jax.random.key(0), train_x, a.steps, a.channels, a.batch_size, a.lr)
    rows = {
        "floor: held-out real digits": dc.metrics.heldout_reference(),
        "baseline: Gaussian fit": dc.metrics.evaluate(gaussian_baseline(None, train_x, a.n)),
    }
    key = jax.random.key(1)
    for calls in a.calls:
        for label, fn, model, step in [
            ("FM, Euler in tau (ddim), tau grid", sample_fm, models["fm"][0], samplers.ddim),
            ("FM, Heun in sigma, tau grid", sample_fm, models["fm"][0], samplers.heun),
            ("EDM, DDIM, Karras grid", sample_edm, models["edm"][0], samplers.ddim),
            ("EDM, Heun, Karras grid", sample_edm, models["edm"][0], samplers.heun),
        ]:
            if step is samplers.heun and calls < 3:
                continue
            x = np.clip(np.asarray(fn(model, a.n, calls, step, key))[..., 0], -1, 1)
            rows[f"{label}, {calls} calls"] = dc.metrics.evaluate(x)
    print(
        f"training wall-clock: EDM {models['edm'][1]:.1f} s, FM {models['fm'][1]:.1f} s "
        f"({a.steps} steps each, load average {os.getloadavg()[0]:.1f})"
    )
    print(f"{'':48s} {'FD':>6s} {'conf':>6s} {'entropy':>8s}")
    for k, r in rows.items():
        print(f"{k:48s} {r['fd']:6.2f} {r['confidence']:6.3f} {r['class_entropy']:8.3f}")
    if a.out is not None:
        a.out.parent.mkdir(parents=True, exist_ok=True)
        meta = {k: v for k, v in vars(a).items() if k != "out"}
        meta["train_seconds"] = {k: v[1] for k, v in models.items()}
        meta["load_average"] = os.getloadavg()[0]
        a.out.write_text(json.dumps({"settings": meta, "rows": rows}, indent=1, default=float))


if __name__ == "__main__":
    main()
