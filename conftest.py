"""Test set-up shared by the unit tests and nbval.

Environment variables set here reach the notebook kernels that nbval starts (they inherit
``os.environ``): JAX on the CPU so every machine gives the same stored numbers, and the quick
mode that keeps training cells short.
"""

import os
import shutil
import tempfile
import time

os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("DIFFCOURSE_QUICK", "1")

# One XLA compilation cache for the whole run, shared by both xdist workers, every notebook kernel
# and every command-line subprocess (they inherit the environment): a program compiled in one
# process is loaded, not recompiled, in the next. Fresh per run (so the suite's time is a cold
# start's, as on CI) and deleted at the end; set JAX_COMPILATION_CACHE_DIR yourself to keep one.
# Measured on 2 cores: the suite in 512 s against 622 s without it. min_compile_time 0 caches the
# many small programs too; they are most of the saving.
if "JAX_COMPILATION_CACHE_DIR" not in os.environ:
    os.environ["JAX_COMPILATION_CACHE_DIR"] = tempfile.mkdtemp(prefix="diffcourse-xla-cache-")
    os.environ["DIFFCOURSE_OWNS_XLA_CACHE"] = str(os.getpid())
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "-1")

# Compiling is about two thirds of the suite's time: the unit tests compile some 3,400 small
# programs and most notebook cells compile before they compute. For this run, XLA's CPU backend
# uses its loop emitters instead of its newer fusion emitters (--xla_cpu_use_fusion_emitters=false):
# the same programs compile about a third faster (a small jitted function: 76 ms against 115 ms;
# the README command: 372 s before it, 284-290 s with it; 2-core AMD EPYC, idle). The flag
# reaches the workers, the nbval kernels and the command-line subprocesses through the
# environment. Every stored notebook output was made with the default emitters, so nbval
# compares the two. The tests that run the course as a user does (the figures command byte for
# byte, every notebook in JupyterLab) get the user's own XLA_FLAGS back: ``tests.helpers.user_environment``.
_FAST_COMPILE = "--xla_cpu_use_fusion_emitters=false"
os.environ.setdefault("DIFFCOURSE_USER_XLA_FLAGS", os.environ.get("XLA_FLAGS", ""))
os.environ["XLA_FLAGS"] = f"{os.environ['DIFFCOURSE_USER_XLA_FLAGS']} {_FAST_COMPILE}".strip()


import jax  # noqa: E402
import pytest  # noqa: E402
from hypothesis import settings  # noqa: E402

# Unit tests check mathematics in float64. A test that wants the float32
# the networks train in uses the ``float32`` fixture.
jax.config.update("jax_enable_x64", True)

settings.register_profile("diffcourse", deadline=None, max_examples=25, derandomize=True)
settings.load_profile("diffcourse")

_START = time.perf_counter()


@pytest.fixture
def float32():
    """Run the test with JAX's default 32-bit types."""
    with jax.enable_x64(False):
        yield


def pytest_terminal_summary(terminalreporter):
    minutes = (time.perf_counter() - _START) / 60
    terminalreporter.write_line(f"diffcourse test suite took {minutes:.1f} min (budget: 10 min)")


def pytest_unconfigure(config):
    # Only the process that made the cache (the controller) deletes it, after the workers end.
    if os.environ.get("DIFFCOURSE_OWNS_XLA_CACHE") == str(os.getpid()):
        shutil.rmtree(os.environ["JAX_COMPILATION_CACHE_DIR"], ignore_errors=True)
