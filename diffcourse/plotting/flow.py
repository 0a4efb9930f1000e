"""Figures of notebook 10 (flow matching): arrays in, axes out; :func:`make_figures` writes them."""

import numpy as np


def two_clocks(axes, taus, x_tau, x_sigma, k: int = 6):
    r"""The same paths in the interpolant's clock and in the course's: left, the first coordinate of
    :math:`x_\tau` against :math:`\tau` (solid: the ODE in :math:`\tau`; dots: the course's sampler
    in :math:`\sigma`, mapped back); right, :math:`z = x/(1-\tau)` against :math:`\sigma = \tau/(1-\tau)`.
    ``taus`` (K,), ``x_tau``, ``x_sigma`` (K, n, d). Returns ``axes``."""
    taus = np.asarray(taus)
    x_tau, x_sigma = np.asarray(x_tau)[:, :k, 0], np.asarray(x_sigma)[:, :k, 0]
    sigma, every = taus / (1 - taus), max(len(taus) // 16, 1)
    near = sigma <= 10.0  # the right panel: sigma up to 10, where the paths bend
    ax0, ax1 = axes
    for i in range(x_tau.shape[1]):
        line = ax0.plot(taus, x_tau[:, i], lw=1)[0]
        ax0.plot(taus[::every], x_sigma[::every, i], ".", color=line.get_color(), ms=4)
        z_tau, z_sigma = x_tau[:, i] / (1 - taus), x_sigma[:, i] / (1 - taus)
        ax1.plot(sigma[near], z_tau[near], lw=1, color=line.get_color())
        ax1.plot(sigma[near][::every], z_sigma[near][::every], ".", color=line.get_color(), ms=4)
    ax0.set(xlabel=r"$\tau$", ylabel=r"$x_\tau$ (first coordinate)", title="flow matching's clock")
    ax0.invert_xaxis()
    ax1.set(
        xscale="log", xlabel=r"$\sigma=\sqrt{t}=\tau/(1-\tau)$", ylabel=r"$z = x_\tau/(1-\tau)$"
    )
    ax1.set_title("the course's clock")
    ax1.invert_xaxis()
    return axes


def weightings(ax, t, rows, mmse):
    r"""Where each loss spends itself at its optimum: :math:`w(t)\,p(t)\,t\,\mathrm{mmse}(t)`, the
    irreducible loss per unit of :math:`\ln t`, for ``rows`` = {label: (w(t), p(t))} on the grid
    ``t`` and a population's ``mmse`` (t,), each curve scaled to peak 1. Returns ``ax``."""
    t = np.asarray(t)
    for label, (w, p) in rows.items():
        f = np.asarray(w) * np.asarray(p) * t * np.asarray(mmse)
        ax.plot(t, f / f.max(), label=label)
    ax.set(xscale="log", xlabel="VE time t", ylabel=r"$w\,p\,t\,\mathrm{mmse}$ (peak 1)")
    ax.set_title("the weight each loss puts on each noise level")
    ax.legend()
    return ax


def samples(ax, y, means=None, title=""):
    """A scatter of 2-D samples ``y`` (n, 2), with the component means as crosses. Returns ``ax``."""
    y = np.asarray(y)
    ax.scatter(y[:, 0], y[:, 1], s=2, alpha=0.4)
    if means is not None:
        m = np.asarray(means)
        ax.plot(m[:, 0], m[:, 1], "k+", ms=8)
    ax.set(aspect="equal", title=title)
    return ax


def paths_2d(ax, path, k: int = 40, title=""):
    """The first ``k`` sampling paths (K, n, 2) in the plane, start marked. Returns ``ax``."""
    path = np.asarray(path)[:, :k]
    for i in range(path.shape[1]):
        ax.plot(path[:, i, 0], path[:, i, 1], lw=0.7, alpha=0.7)
    ax.plot(path[0, :, 0], path[0, :, 1], "k.", ms=2)
    ax.set(aspect="equal", title=title)
    return ax


def few_step_table(ax, calls, rows):
    """Sample quality against network calls: ``rows`` = {label: values (len(calls),)}. Returns ``ax``."""
    for label, values in rows.items():
        ax.plot(calls, values, "o-", label=label)
    ax.set(xscale="log", xlabel="network calls", ylabel="fraction within 2 sigma")
    ax.set_xticks(calls, [str(c) for c in calls])
    ax.legend()
    return ax


def make_figures(outdir):
    """Write ``flow_two_clocks.png`` and ``flow_weightings.png`` into ``outdir`` (exact denoisers
    only: no training). Returns the paths."""
    import jax
    import jax.numpy as jnp
    import matplotlib.pyplot as plt

    from diffcourse import flow, losses, populations, samplers
    from diffcourse.plotting import savefig

    pop = populations.mixture_2d()
    tau0 = 0.98
    x0 = pop.sample_pt(jax.random.key(0), 8, float(flow.t_of_tau(tau0))) * (1 - tau0)
    taus = np.linspace(tau0, 0.0, 129)
    x_tau = flow.ode_tau(
        flow.velocity_field(pop.posterior_mean), x0, taus, method="heun", return_path=True
    )
    x_sigma = flow.sample(
        jax.random.key(1), pop.posterior_mean, x0, taus, step=samplers.heun, return_path=True
    )
    fig, axes = plt.subplots(1, 2, figsize=(8, 3))
    two_clocks(axes, taus[:-1], x_tau[:-1], x_sigma[:-1])
    written = [savefig(fig, f"{outdir}/flow_two_clocks.png")]

    t = np.geomspace(1e-5, 1e4, 400)
    tj = jnp.asarray(t)
    edm = losses.LogNormal(-2.4, 2.4)
    rows = {
        "flow matching, tau uniform": (
            flow.fm_weighting(tj),
            jnp.exp(flow.TauUniform().log_prob(tj)),
        ),
        "flow matching, logit-normal": (
            flow.fm_weighting(tj),
            jnp.exp(flow.LogitNormal().log_prob(tj)),
        ),
        "EDM (sigma_d = 1)": (losses.edm_weighting(1.0)(tj), jnp.exp(edm.log_prob(tj))),
        "DDPM eps, log-uniform t": (1 / tj, jnp.exp(losses.LogUniform(1e-5, 1e4).log_prob(tj))),
    }
    fig, ax = plt.subplots(figsize=(6, 3))
    weightings(ax, t, rows, 2 * t / (1 + t))  # the mmse of N(0, I) data in 2-D
    written.append(savefig(fig, f"{outdir}/flow_weightings.png"))
    return written
