"""Test set-up shared by the unit tests and nbval.

Environment variables set here reach the notebook kernels that nbval starts (they inherit
``os.environ``): JAX on the CPU so every machine gives the same stored numbers, and the quick
mode that keeps training cells short.
"""

import os
import time

os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("DIFFCOURSE_QUICK", "1")

import jax  # noqa: E402
import pytest  # noqa: E402
from hypothesis import settings  # noqa: E402

# Unit tests check mathematics in float64 (STYLE.md habit 6). A test that wants the float32
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
