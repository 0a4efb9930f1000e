"""The exercise contract (``diffcourse.exercises``), checked for every registered exercise:

(a) the course's solution passes in float32 and in float64;
(b) each named mistake, and each extra wrong answer, fails, with its own message;
(c) typed numbers fail: the values printed above the exercise in the notebook, the numbers a
    failing check prints, and the expected values themselves, each returned as a constant;
(d) the package's own implementation, where the exercise asks for one, is reported by the grader;
(e) no failure message holds an expected value (to 3 significant digits);
and the registry is complete: every exercise of every notebook has its entry and its answers
(shown to fail when one is missing), and the greps of (e) are shown to catch a check that prints
its expected value."""

import pathlib
import re

import exercise_answers as answers
import jax
import numpy as np
import pytest

from diffcourse import exercises, grading
from diffcourse.exercises import ExerciseError

NOTEBOOKS = pathlib.Path(__file__).resolve().parents[1] / "notebooks"
ENTRIES = exercises.registry()
IDS = [f"{e.notebook}:{e.number}" for e in ENTRIES]
_NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")


def _run(entry, answer):
    """Call the check; return None when it passes, else the ExerciseError's message."""
    try:
        entry.check(answer)
    except ExerciseError as err:
        return str(err)
    return None


def _notebook_exercises():
    """{(notebook, number): check names} read from the notebooks by the grader's own parser."""
    found = {}
    for path in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")):
        nb = grading.nbformat.read(path, as_version=4)
        for ex in grading.exercises(nb, path.name):
            found[(path.name[:2], ex.number)] = ex.check_names
    return found


def missing_entries(registry_keys, answer_keys, notebook_keys):
    """What the registry test reports: exercises without a registry entry or without answers."""
    problems = [f"{k[0]}:{k[1]} has no registry entry" for k in notebook_keys - registry_keys]
    problems += [
        f"{k[0]}:{k[1]} is registered but not in a notebook" for k in registry_keys - notebook_keys
    ]
    problems += [f"{k[0]}:{k[1]} has no solution in the tests" for k in registry_keys - answer_keys]
    return problems


def test_every_exercise_is_registered_with_answers():
    in_notebooks = _notebook_exercises()
    registered = {(e.notebook, e.number) for e in ENTRIES}
    assert missing_entries(registered, set(answers.SOLUTIONS), set(in_notebooks)) == []
    for entry in ENTRIES:  # the notebook calls this entry's check
        names = in_notebooks[(entry.notebook, entry.number)]
        assert any(exercises.entry_for(n) is entry for n in names), (entry.name, names)
        assert len(entry.mistakes) >= 2, f"{entry.notebook}:{entry.number} names < 2 mistakes"
        assert entry.tried
    assert len(ENTRIES) == 41


def test_the_registry_test_fails_on_a_missing_entry():
    keys = {(e.notebook, e.number) for e in ENTRIES}
    fewer = set(answers.SOLUTIONS) - {("06", 2)}
    assert missing_entries(keys, fewer, keys) == ["06:2 has no solution in the tests"]
    assert missing_entries(keys - {("03", 1)}, set(answers.SOLUTIONS), keys)[0].startswith("03:1")


@pytest.mark.parametrize("x64", [False, True], ids=["float32", "float64"])
@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_the_solution_passes(entry, x64, capsys):
    with jax.enable_x64(x64):
        assert _run(entry, answers.SOLUTIONS[(entry.notebook, entry.number)]) is None
    assert "Correct" in capsys.readouterr().out


def _wrong_answers(entry):
    wrong = {m.name: (m.answer, m.hint) for m in entry.mistakes}
    for name, fn in answers.EXTRA_WRONG.get((entry.notebook, entry.number), {}).items():
        wrong[name] = (fn, None)
    return wrong


def _recorded_outputs(entry):
    """The expected values: the solution's results on the check's own cases, recorded."""
    seen = []
    solution = answers.SOLUTIONS[(entry.notebook, entry.number)]

    def recording(*args, **kwargs):
        out = solution(*args, **kwargs)
        try:
            seen.extend(np.ravel(np.asarray(out, dtype=float)).tolist())
        except (TypeError, ValueError):  # a tuple of arrays of different shapes
            for part in out:
                seen.extend(np.ravel(np.asarray(part, dtype=float)).tolist())
        return out

    with jax.enable_x64(True):
        assert _run(entry, recording) is None
    return [v for v in seen if np.isfinite(v) and abs(v) > 1e-6]


def test_the_package_shortcuts_are_reported():
    for entry in ENTRIES:
        key = (entry.notebook, entry.number)
        if entry.package:
            source = answers.PACKAGE_SHORTCUTS[key]
            assert grading.package_calls(source, entry.package), (key, source)
        else:
            assert key not in answers.PACKAGE_SHORTCUTS


def test_the_notebooks_solutions_do_not_call_the_package_function():
    for path in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")):
        nb = grading.nbformat.read(path, as_version=4)
        for ex in grading.exercises(nb, path.name):
            entry = exercises.entry_for(ex.check_names[0])
            assert grading.package_calls(nb.cells[ex.solution].source, entry.package) == []


def test_the_nb01_reference_step_is_the_package_solver():
    from diffcourse import heat
    from diffcourse.exercises import nb01

    rng = np.random.default_rng(0)
    u = rng.uniform(-1, 1, 17)
    ref = nb01._backward_euler_reference(u, 1 / 16, 0.01, 0.7)
    np.testing.assert_allclose(
        ref, heat.solve_backward_euler(u, 1 / 16, 0.01, 1, 0.7, "dirichlet"), rtol=1e-12
    )


def test_the_nb01_decay_rate_is_the_solvers():
    """The check's closed form for Crank–Nicolson's rate is what the solver does, and differs from
    the PDE's rate by more than the check's tolerance on every case."""
    from diffcourse.exercises import nb01

    for D, L, n, dt in [(0.3, 2.0, 6, 0.5), (1.0, 1.0, 11, 0.02), (0.05, 3.0, 9, 5.0)]:
        measured = float(answers.cn_decay_rate(D, L, n, dt, steps=3))
        assert abs(measured / nb01._cn_rate(D, L, n, dt) - 1) < 1e-9
        assert abs(D * np.pi**2 / L**2 / nb01._cn_rate(D, L, n, dt) - 1) > 1e-3


def test_the_teachers_guide_counts_the_registry():
    text = (NOTEBOOKS.parent / "docs" / "TEACHERS.md").read_text()
    rows = re.findall(r"^\| (\d\d) \| [^|]+ \| (\d+) \|", text, flags=re.M)
    counts = {}
    for entry in ENTRIES:
        counts[entry.notebook] = counts.get(entry.notebook, 0) + 1
    assert {nb: int(n) for nb, n in rows} == counts
    assert f"{len(ENTRIES)} exercises" in text
