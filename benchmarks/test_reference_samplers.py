r"""The course's one sampler against diffusers' ``DDPMScheduler`` and ``DDIMScheduler``, step for step.

Run in the benchmark venv (torch and diffusers; the course's own suite collects only tests/ and
notebooks/):

    .venv-bench/bin/python -m pytest benchmarks/test_reference_samplers.py -p no:xdist -p no:cacheprovider -o addopts="" -q

One eps-model drives both, :math:`\hat\epsilon(x, \bar\alpha) = (x - \sqrt{\bar\alpha}\,m(x))/\sqrt{1-\bar\alpha}`
with :math:`m(x) = 1.5\tanh(Wx + b)` and fixed :math:`W, b` (d = 6, 5 samples, float64), the eps
of a model whose predicted :math:`x_0` is :math:`m(x)`, at times outside [-1, 1] (so clipping
it matters) and the paths stay on the data's scale: diffusers calls it at
:math:`(x_k, \bar\alpha_k)`; the course's :func:`diffcourse.samplers.sample` calls the denoiser it
becomes through the bridge (:mod:`diffcourse.schedules`): :math:`\bar\alpha = 1/(1+t)`,
:math:`x = \sqrt{\bar\alpha}\,z`, :math:`D(z, t) = z - \sqrt t\,\hat\epsilon(x, \bar\alpha)`.
Both start from the same :math:`x_T` (:math:`z_T = x_T/\sqrt{\bar\alpha_T}`) and see the same
per-step noise: the sampler's own draws (per sample, a key split from the run's key, then a normal
of shape (K, d), as ``samplers._one`` draws them) go to diffusers as ``DDIMScheduler.step``'s
``variance_noise`` and as what ``randn_tensor`` returns inside ``DDPMScheduler.step`` (patched).
The ddim step adds :math:`\sqrt{\bar\alpha_s v}\,\xi` on the DDPM scale and diffusers
:math:`\sigma_t\,\xi` with :math:`\sigma_t^2 = \bar\alpha_s v`, so the noise is the same
:math:`\xi`, unscaled. Paths are compared on the DDPM scale :math:`x = \sqrt{\bar\alpha(t)}\,z`,
as the largest difference over the path relative to the largest :math:`|x|`.

Conventions (diffusers 0.42.1, ``schedulers/scheduling_ddpm.py`` and ``scheduling_ddim.py``):

- diffusers' timestep j is the course's step j + 1: ``alphas_cumprod[j] = alphabars(betas)[j]``;
  "linear" is :func:`schedules.linear_betas` (1e-4 to 0.02), "squaredcos_cap_v2" is
  :func:`schedules.cosine_betas` (Nichol & Dhariwal's, beta capped at 0.999);
- ``clip_sample=False`` matches (diffusers' default ``True`` clamps the predicted
  :math:`x_0` to [-1, 1] at every step; the course never clips);
- ``DDPMScheduler(variance_type="fixed_small")``, :math:`\sigma_t^2 = \tilde\beta_t`, is the
  course's ``"ddpm"`` setting (the ddim step at lam = 1 on every step); ``"fixed_large"``
  (:math:`\sigma_t^2 = \beta_t`) is not;
- ``set_alpha_to_one=True``: DDIM's last step lands on :math:`\bar\alpha = 1`, the course's
  final time 0; with ``False`` it lands on :math:`\bar\alpha_1`, which the course's sampler
  reaches with a grid ending at ``ve_time(alphabar_1)`` instead of 0;
- timestep spacing: the course's DDPM subsequence ``ddpm_grid(alphabars, n)``, the indices
  ``round(linspace(0, T - 1, n))``, is diffusers' ``"linspace"`` spacing. ``DDPMScheduler``
  steps to the next timestep of its list, so with ``"linspace"`` it runs the course's
  ``"ddim-eta"`` at lam = 1 on the course's own grid. ``DDIMScheduler`` steps from t to
  ``t - T // n`` whatever the spacing: consistent with its list for ``"leading"`` (with any
  ``steps_offset``) and ``"trailing"``, not for ``"linspace"`` (1000/50 gives steps of 20 or 21),
  where it steps off its own list. DDIM is therefore compared on diffusers' grid, given to the
  course's sampler explicitly (``ve_time(alphas_cumprod[timesteps])`` then the final time);
- float64: diffusers stores the schedule in float32. :func:`test_the_schedules_are_the_same`
  checks diffusers' float32 numbers against the course's; the trajectory tests then put the
  course's float64 betas into the scheduler (alphas and their product recomputed as diffusers
  computes them), so both sides do float64 arithmetic.

Measured here (diffusers 0.42.1, torch 2.13.0, jax 0.10.2, x86-64 CPU): every matched path agrees
to below 6e-13 relative (the bound asserted is 1e-6; the largest, 5.5e-13, on grids ending at
timestep 0, where the eps-model divides by :math:`\sqrt{1-\bar\alpha_1} = 0.01`). The mismatched
conventions of :func:`test_a_mismatched_convention_disagrees` differ by 0.16 (``clip_sample=True``),
3.8e-3 (``fixed_large``: it differs from ``fixed_small`` mostly in the last steps), 0.39
(``set_alpha_to_one=False`` with ``"leading"`` spacing, whose last step goes from timestep 0 to
:math:`\bar\alpha_1` again, a step of zero length) and 0.035 (``DDIMScheduler`` with
``"linspace"``). No difference between the course's sampler and diffusers' schedulers was found
beyond these conventions.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from diffusers import DDIMScheduler, DDPMScheduler
from diffusers.schedulers import scheduling_ddpm

from diffcourse import samplers, schedules

T, N, DIM = 1000, 5, 6
_RNG = np.random.default_rng(0)
W = 1.5 * _RNG.standard_normal((DIM, DIM)) / np.sqrt(DIM)
B = 0.3 * _RNG.standard_normal(DIM)
X_T = _RNG.standard_normal((N, DIM))
KEY = jax.random.key(0)
MATCH, MISMATCH = 1e-6, 1e-3
SCHEDULES = {"linear": schedules.linear_betas, "squaredcos_cap_v2": schedules.cosine_betas}
DDIM_SPACINGS = {
    "leading": {"timestep_spacing": "leading"},
    "trailing": {"timestep_spacing": "trailing"},
    "leading, offset 1, final alphabar_1": {
        "timestep_spacing": "leading",
        "steps_offset": 1,
        "set_alpha_to_one": False,
    },
}


@pytest.fixture(autouse=True)
def float64():
    with jax.enable_x64(True):
        yield


def eps(x, alphabar, xp):
    r"""The shared eps-model :math:`(x - \sqrt{\bar\alpha}\,m(x))/\sqrt{1-\bar\alpha}`,
    :math:`m(x) = 1.5\tanh(Wx + b)`, for x (d,) or rows (n, d)."""
    return (x - xp.sqrt(alphabar) * 1.5 * xp.tanh(x @ W.T + B)) / xp.sqrt(1 - alphabar)


def denoiser(z, t):
    r"""``eps`` read as a VE denoiser: :math:`D(z,t) = z - \sqrt t\,\hat\epsilon(\sqrt{\bar\alpha} z, \bar\alpha)`, :math:`\bar\alpha = 1/(1+t)`."""
    alphabar = schedules.alphabar_from_ve_time(t)
    return schedules.eps_to_denoiser(eps(schedules.z_to_x(z, alphabar), alphabar, jnp), z, t)


def course_betas(schedule):
    return np.asarray(SCHEDULES[schedule](T), np.float64)


def scheduler(cls, schedule, n_steps, **config):
    """A diffusers scheduler (``clip_sample=False`` unless given) on ``n_steps`` steps, its
    schedule replaced by the course's in float64 (alphas and their product as diffusers computes
    them; DDIM's final alphabar 1 or ``alphas_cumprod[0]`` by ``set_alpha_to_one``)."""
    s = cls(num_train_timesteps=T, beta_schedule=schedule, **{"clip_sample": False, **config})
    s.betas = torch.tensor(course_betas(schedule))
    s.alphas = 1.0 - s.betas
    s.alphas_cumprod = torch.cumprod(s.alphas, dim=0)
    if isinstance(s, DDIMScheduler):
        one = torch.tensor(1.0, dtype=torch.float64)
        s.final_alpha_cumprod = one if s.config.set_alpha_to_one else s.alphas_cumprod[0]
    s.set_timesteps(n_steps)
    return s


def diffusers_grid(s):
    """The VE times a scheduler visits: ``ve_time(alphas_cumprod[timesteps])``, then the time of
    the alphabar its last step lands on (1 for DDPM and DDIM with ``set_alpha_to_one``)."""
    final = getattr(s, "final_alpha_cumprod", torch.tensor(1.0))
    ab = np.append(s.alphas_cumprod[s.timesteps].numpy(), float(final))
    return np.asarray(schedules.ve_time(ab))


def sampler_noise(n_steps):
    """The sampler's draws: ``normal(key_i, (K, d))`` for the keys ``split(KEY, N)``; (N, K, d)."""
    draw = lambda k: jax.random.normal(k, (n_steps, DIM), jnp.float64)
    return np.asarray(jax.vmap(draw)(jax.random.split(KEY, N)))


def course_path(ts, step, lam):
    """The course's sampler from ``X_T`` down the VE grid ``ts``: the path on the DDPM scale."""
    ts = jnp.asarray(ts)
    alphabar = schedules.alphabar_from_ve_time(ts)
    z_T = schedules.x_to_z(jnp.asarray(X_T), alphabar[0])
    path = samplers.sample(KEY, denoiser, z_T, ts, step=step, lam=lam, return_path=True)
    return np.asarray(schedules.z_to_x(path, alphabar[:, None, None]))


def diffusers_path(s, noise, monkeypatch, **step_kw):
    """``s.step`` over ``s.timesteps`` from ``X_T``, the noise of step k being ``noise[:, k]``."""
    current = {}
    monkeypatch.setattr(scheduling_ddpm, "randn_tensor", lambda shape, **kw: current["xi"])
    x, path = torch.from_numpy(X_T), [X_T]
    for k, t in enumerate(s.timesteps):
        current["xi"] = torch.from_numpy(np.ascontiguousarray(noise[:, k]))
        if isinstance(s, DDIMScheduler):
            step_kw["variance_noise"] = current["xi"]
        e = torch.from_numpy(eps(x.numpy(), float(s.alphas_cumprod[t]), np))
        x = s.step(e, t, x, **step_kw).prev_sample
        path.append(x.numpy())
    return np.stack(path)


def relative_error(a, b):
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


def compare(s, ts, step, lam, monkeypatch, **step_kw):
    """Relative difference of the course's path on ``ts`` and the scheduler's, same noise."""
    course = course_path(ts, step, lam)
    return relative_error(
        course, diffusers_path(s, sampler_noise(len(ts) - 1), monkeypatch, **step_kw)
    )


@pytest.mark.parametrize("schedule", SCHEDULES)
def test_the_schedules_are_the_same(schedule):
    """diffusers' float32 betas are the course's rounded to float32; its float32 alphabars are the
    course's float64 ones to 2e-5 relative (the worst is the cosine's last step: its beta, 0.999,
    rounded to float32 puts 1 - beta 1.3e-5 off; elsewhere 2e-6)."""
    s = DDPMScheduler(num_train_timesteps=T, beta_schedule=schedule)
    betas = course_betas(schedule)
    np.testing.assert_allclose(s.betas.numpy(), betas.astype(np.float32), rtol=2e-7, atol=0)
    ab = np.asarray(schedules.alphabars(betas))
    np.testing.assert_allclose(s.alphas_cumprod.numpy(), ab, rtol=2e-5, atol=0)


@pytest.mark.parametrize("schedule", SCHEDULES)
def test_ddpm_ancestral_is_ddpm_scheduler_fixed_small(schedule, monkeypatch):
    """The course's ``"ddpm"`` setting (ddim step, lam = 1, all 1000 steps) against
    ``DDPMScheduler(variance_type="fixed_small", clip_sample=False)`` on 1000 steps."""
    setting = samplers.SETTINGS["ddpm"]
    ab = schedules.alphabars(course_betas(schedule))
    ts, _ = samplers.settings_grid("ddpm", T, alphabars=ab)
    s = scheduler(DDPMScheduler, schedule, T, variance_type="fixed_small")
    np.testing.assert_allclose(ts, diffusers_grid(s), rtol=1e-12)
    assert compare(s, ts, setting.step, setting.lam, monkeypatch) < MATCH


@pytest.mark.parametrize("schedule", SCHEDULES)
def test_ddim_eta_1_on_the_course_grid_is_ddpm_scheduler_linspace(schedule, monkeypatch):
    """The course's own 50-step DDPM subsequence is diffusers' ``"linspace"`` timesteps, and the
    course's ``"ddim-eta"`` at lam = 1 on it is ``DDPMScheduler`` on those 50 steps."""
    ab = schedules.alphabars(course_betas(schedule))
    ts, _ = samplers.settings_grid("ddim-eta", 50, alphabars=ab)
    s = scheduler(DDPMScheduler, schedule, 50, timestep_spacing="linspace")
    np.testing.assert_allclose(ts, diffusers_grid(s), rtol=1e-12)
    assert compare(s, ts, samplers.SETTINGS["ddim-eta"].step, 1.0, monkeypatch) < MATCH


@pytest.mark.parametrize("spacing", DDIM_SPACINGS)
@pytest.mark.parametrize("eta", [0.0, 1.0])
@pytest.mark.parametrize("schedule", SCHEDULES)
def test_ddim_is_ddim_scheduler(schedule, eta, spacing, monkeypatch):
    """The course's ddim step at lam = eta (settings ``"ddim"``, ``"ddim-eta"``) on DDIMScheduler's
    50-step grid against ``DDIMScheduler.step(eta=eta)``, ``clip_sample=False``."""
    s = scheduler(DDIMScheduler, schedule, 50, **DDIM_SPACINGS[spacing])
    setting = samplers.SETTINGS["ddim" if eta == 0 else "ddim-eta"]
    assert compare(s, diffusers_grid(s), setting.step, eta, monkeypatch, eta=eta) < MATCH


def _mismatch(case, schedule):
    """(scheduler, course grid, lam, step kwargs) of a pairing whose conventions differ in one."""
    ab = schedules.alphabars(course_betas(schedule))
    if case in ("clip_sample=True", "fixed_large"):
        ts, _ = samplers.settings_grid("ddpm", T, alphabars=ab)
        config = {"clip_sample": True} if case == "clip_sample=True" else {}
        variance = "fixed_large" if case == "fixed_large" else "fixed_small"
        return scheduler(DDPMScheduler, schedule, T, variance_type=variance, **config), ts, 1.0, {}
    if case == "set_alpha_to_one=False":
        s = scheduler(DDIMScheduler, schedule, 50, set_alpha_to_one=False)
        ts = np.append(diffusers_grid(s)[:-1], 0.0)  # the course's grids end at t = 0
        return s, ts, 1.0, {"eta": 1.0}
    ts, _ = samplers.settings_grid("ddim", 50, alphabars=ab)  # DDIM "linspace": off its list
    s = scheduler(DDIMScheduler, schedule, 50, timestep_spacing="linspace")
    np.testing.assert_allclose(ts[:-1], diffusers_grid(s)[:-1], rtol=1e-12)
    return s, ts, 0.0, {"eta": 0.0}


@pytest.mark.parametrize(
    "case", ["clip_sample=True", "fixed_large", "set_alpha_to_one=False", "DDIM linspace"]
)
def test_a_mismatched_convention_disagrees(case, monkeypatch):
    """The comparison has power: one convention changed, the paths differ by more than 1e-3
    (linear schedule): clipping the predicted x0, DDPM's larger variance beta_t, DDIM's last step
    landing on alphabar_1 instead of 1, and DDIMScheduler with ``"linspace"`` spacing on the
    course's own DDIM grid (the same 50 timesteps; diffusers steps to t - 20 instead of the next)."""
    s, ts, lam, step_kw = _mismatch(case, "linear")
    assert compare(s, ts, samplers.ddim, lam, monkeypatch, **step_kw) > MISMATCH
