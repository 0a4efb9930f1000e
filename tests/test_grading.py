"""The student edition and the grader.

Cheap tests (the default run): the stubbing on small synthetic notebooks and on every real
notebook without executing it; the grader on synthetic notebooks whose kernels import no JAX; and
notebook 00's exercises (its set-up cell and exercise section, the costly middle left out) graded
as the course wrote them (100%), as a fresh student copy (0%, all "not attempted") and with a
seeded typical mistake (exactly that exercise fails, with the check's message).

The ``course`` test (``pytest -m course``, minutes) grades every notebook whole, with a typical
mistake appended to each, in one execution.
"""

import json
import pathlib

import jax
import nbformat
import numpy as np
import pytest

import diffcourse as dc
from diffcourse import grading
from diffcourse.__main__ import main
from diffcourse.exercises import ExerciseError

ROOT = pathlib.Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"


def _notebook(cells):
    """A notebook from ``(kind, source, tags, outputs)`` tuples (tags and outputs optional)."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    for kind, source, *rest in cells:
        tags = rest[0] if rest else []
        if kind == "md":
            cell = nbformat.v4.new_markdown_cell(source)
        else:
            cell = nbformat.v4.new_code_cell(source)
            cell.outputs = [nbformat.v4.new_output("stream", text=t) for t in rest[1:]]
            cell.execution_count = 1 if cell.outputs else None
        if tags:
            cell.metadata["tags"] = tags
        nb.cells.append(cell)
    nbformat.validate(nb)
    return nb


S = ["solution"]
CHECK = "from diffcourse.exercises._check import check_close, check_function"
TOY = [  # the course's version: every answer right; body cell 5 divides by zero
    ("code", f"import os\nimport numpy as np\n{CHECK}", [], "a stored body output\n"),
    ("md", "## Exercises\n\n**1.** What is 2 + 2?"),
    ("code", 'answer = 2 + 2\nprint("the answer is", answer)', S, "the answer is 4\n"),
    ("code", 'check_close(answer, 4.0, what="two plus two")', [], "Correct: two plus two\n"),
    (
        "code",
        'assert os.environ["DIFFCOURSE_QUICK"] == "1" and os.environ["JAX_PLATFORMS"] == "cpu"',
    ),
    ("code", "1 / 0  # a bug outside the exercises"),
    ("md", "**2.** Write `double(x)`, returning $2x$."),
    ("code", "def double(x):\n    return 2 * x", S),
    ("code", 'check_function(double, [(np.arange(3.0),)], lambda x: 2 * x, what="doubling")'),
    ("md", "**3.** What is 3 times 3? (Two checks.)"),
    ("code", "answer = 3 * 3", S),
    ("code", 'check_close(answer, 9.0, what="three times three")'),
    ("code", 'check_close(answer**0.5, 3.0, what="its root")'),
    ("md", "**4.** Write `halve(x)`."),
    ("code", "halve = lambda x: x / 2", S),
    ("code", 'check_function(halve, [(np.arange(3.0),)], lambda x: x / 2, what="halving")'),
    ("md", "**5.** What is 10 / 5?"),
    ("code", "answer = 10 / 5", S),
    ("code", 'check_close(answer, 2.0, what="ten over five")'),
]
SOLUTIONS = [2, 7, 10, 14, 17]  # cell indices of the toy's solution cells


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    """The toy course, its student copy, and a student's hand-in built from that copy."""
    d = tmp_path_factory.mktemp("toy")
    (d / "course").mkdir()
    nbformat.write(_notebook(TOY), d / "course" / "01_toy.ipynb")
    grading.student_copy(d / "course", d / "student")
    hand_in = nbformat.read(d / "student" / "01_toy.ipynb", as_version=4)
    course = nbformat.read(d / "course" / "01_toy.ipynb", as_version=4)
    hand_in.cells[2].source = course.cells[2].source  # 1: right
    hand_in.cells[7].source = "def double(x):\n    raise NotImplementedError"  # 2: a stub in a def
    hand_in.cells[10].source = "answer = 3 + 3  # a typical mistake"  # 3: wrong
    hand_in.cells[14].source = "halve = lambda x: x / 2\nundefined_name"  # 4: a bug in the cell
    # 5: the stub left as it was
    (d / "handin").mkdir()
    nbformat.write(hand_in, d / "handin" / "01_toy.ipynb")
    edited = nbformat.read(d / "course" / "01_toy.ipynb", as_version=4)
    edited.cells[3].source = "pass  # check_close(answer, 4.0) edited away"
    edited.cells[15] = nbformat.v4.new_code_cell("os._exit(1)")  # 4's check gone, the kernel dies
    nbformat.write(edited, d / "handin" / "02_edited.ipynb")
    (d / "handin" / "03_broken.ipynb").write_text("{not a notebook")
    return d


# --------------------------------------------------------------------------------------------
# the student copy: no kernel


def test_student_copy_stubs_every_solution_and_keeps_the_checks(toy):
    course = nbformat.read(toy / "course" / "01_toy.ipynb", as_version=4)
    copy = nbformat.read(toy / "student" / "01_toy.ipynb", as_version=4)
    nbformat.validate(copy)
    assert len(copy.cells) == len(course.cells)
    for i, (a, b) in enumerate(zip(course.cells, copy.cells, strict=True)):
        assert a.get("id") == b.get("id") and a.metadata.get("tags") == b.metadata.get("tags")
        if i in SOLUTIONS:
            assert "raise NotImplementedError" in b.source
            for line in a.source.splitlines():  # no line of the answer survives
                assert line.strip() not in b.source
            assert b.outputs == [] and b.execution_count is None
        elif i - 1 in SOLUTIONS or i == 12:  # check cells: the same source, outputs cleared
            assert b.source == a.source and b.outputs == [] and b.execution_count is None
        else:
            assert b == a  # the rest untouched, stored outputs included
    text = (toy / "student" / "01_toy.ipynb").read_text()
    assert "the answer is 4" not in text and "Correct" not in text  # no stored answer leaks
    assert "a stored body output" in text
    assert "Exercise 3. What is 3 times 3? (Two checks.)" in copy.cells[10].source  # the task


def test_a_stub_never_lets_the_check_pass(toy):
    copy = nbformat.read(toy / "student" / "01_toy.ipynb", as_version=4)
    checks = {"check_close": dc.exercises.check_close}
    scope = {**checks, "answer": 4}  # an answer left by an earlier cell, equal to the expected
    with pytest.raises(NotImplementedError):
        exec(copy.cells[2].source, scope)
    assert "answer" not in scope
    with pytest.raises(NameError):
        exec(copy.cells[3].source, scope)


def test_student_copy_refuses_what_it_must_not_do(toy, tmp_path):
    src = toy / "course"
    cases = [
        (src, "inside src_dir"),
        (src / "sub", "inside src_dir"),
        (toy / "student", "already holds 1 of the notebooks"),
        (src / "01_toy.ipynb", "a file"),
    ]
    for out, fragment in cases:
        with pytest.raises(ValueError, match=fragment):
            grading.student_copy(src, out)
    with pytest.raises(ValueError, match="must hold notebooks"):
        grading.student_copy(tmp_path, tmp_path / "out")
    with pytest.raises(ValueError, match="existing folder"):
        grading.student_copy(tmp_path / "none", tmp_path / "out")
    result = grading.student_copy(src, toy / "student", overwrite=True)
    assert result.exercises == 5 and result.notes == ()
    for bad, fragment in [
        ([("code", "answer = 1", S), ("code", "print(answer)")], "must be followed by a code cell"),
        ([("md", "the answer is 1", S)], "is a markdown cell"),
    ]:
        (tmp_path / "bad").mkdir(exist_ok=True)
        nbformat.write(_notebook(bad), tmp_path / "bad" / "00_bad.ipynb")
        with pytest.raises(ValueError, match=fragment):
            grading.student_copy(tmp_path / "bad", tmp_path / "out")
    assert not (tmp_path / "out").exists()  # refused before writing anything


def test_student_copy_notes_a_file_read_relative_to_the_folder(tmp_path):
    """A cell that reads '../x' breaks in a copy handed out elsewhere: the teacher is told."""
    (tmp_path / "src").mkdir()
    cells = [
        ("code", 'data = open("../results/x.json").read()'),
        ("code", "answer = 1", S),
        ("code", "check_close(answer, 1, what='one')"),
    ]
    nbformat.write(_notebook(cells), tmp_path / "src" / "03_reads.ipynb")
    result = grading.student_copy(tmp_path / "src", tmp_path / "out")
    assert len(result.notes) == 1 and "../results/x.json" in result.notes[0], result.notes


def test_student_copy_of_the_real_course(tmp_path):
    """Every real notebook's student copy: a stub for every solution (none of its lines left),
    each check unchanged, the stub's names the ones its check uses; no kernel."""
    result = grading.student_copy(NOTEBOOKS, tmp_path)
    assert len(result.notebooks) == len(list(NOTEBOOKS.glob("*.ipynb"))) >= 11
    assert not result.notes  # no notebook reads a file by a path relative to its folder
    for path in result.notebooks:
        course = nbformat.read(NOTEBOOKS / path.name, as_version=4)
        copy = nbformat.read(path, as_version=4)
        nbformat.validate(copy)
        found = grading.exercises(course, path.name)
        assert found and len(grading.exercises(copy, path.name)) == len(found)
        for ex in found:
            answer, stub = course.cells[ex.solution], copy.cells[ex.solution]
            assert stub.source.rstrip().endswith('replace this line with your answer")')
            leaked = [
                line
                for line in answer.source.splitlines()
                if len(line.strip()) > 8 and line.strip() in stub.source
            ]
            assert not leaked, (path.name, ex.number, leaked)
            assert stub.outputs == []
            for k in ex.checks:
                assert copy.cells[k].source == course.cells[k].source
                assert copy.cells[k].outputs == []
            names = grading.needed_names(answer.source, [course.cells[k].source for k in ex.checks])
            assert names and all(f"'{n}'" in stub.source for n in names), (path.name, ex.number)


# --------------------------------------------------------------------------------------------
# the grader on synthetic notebooks (cheap kernels: numpy, no JAX)


@pytest.fixture(scope="module")
def graded(toy):
    report = toy / "report.json"
    code = main(["grade", str(toy / "handin"), "--report", str(report), "--timeout", "60"])
    assert code == 0
    return json.loads(report.read_text())


def _statuses(entry):
    return [(e["id"], e["status"]) for e in entry["exercises"]]


def test_grade_reports_each_exercise_and_carries_on_after_errors(graded):
    toy = graded["notebooks"][0]
    assert toy["file"] == "01_toy.ipynb"
    assert _statuses(toy) == [
        ("01_toy:1", "passed"),
        ("01_toy:2", "not attempted"),  # NotImplementedError inside the student's function
        ("01_toy:3", "failed"),
        ("01_toy:4", "failed"),
        ("01_toy:5", "not attempted"),  # the stub
    ]
    with pytest.raises(ExerciseError) as err:
        dc.exercises.check_close(6, 9.0, what="three times three")
    three = toy["exercises"][2]
    assert three["message"] == str(err.value) and three["error"] == "ExerciseError"
    assert three["checks"] == ["check_close", "check_close"]
    four = toy["exercises"][3]
    assert four["message"] == (
        "your answer cell raised NameError: name 'undefined_name' is not defined"
    )
    # the only error outside the exercises: the environment assertion held in the kernel
    assert toy["errors"] == [
        {"cell": 5, "error": "ZeroDivisionError", "message": "division by zero"}
    ]
    assert (toy["passed"], toy["not_attempted"], toy["failed"], toy["total"]) == (1, 2, 2, 5)
    assert toy["score"] == pytest.approx(0.2)


def test_grade_fails_edited_checks_and_reports_broken_notebooks(graded):
    edited, broken = graded["notebooks"][1:]
    statuses = ["failed", "passed", "passed", "failed", "failed"]
    assert _statuses(edited) == [(f"02_edited:{k}", s) for k, s in enumerate(statuses, start=1)]
    messages = [e["message"] for e in edited["exercises"]]
    assert "printed no 'Correct' line" in messages[0]
    assert "no check cell follows the answer cell 14" in messages[3]
    assert messages[4].startswith("not run: the notebook stopped before this exercise")
    assert [(e["cell"], e["error"]) for e in edited["errors"]] == [
        (5, "ZeroDivisionError"),
        (15, "DeadKernelError"),
    ]
    assert broken["exercises"] == [] and broken["score"] is None
    assert broken["errors"][0]["cell"] is None and broken["errors"][0]["message"]
    assert (graded["passed"], graded["total"]) == (3, 10)


def test_grade_prints_a_table(graded, toy, capsys):
    text = grading.table(graded)
    row = next(line for line in text.splitlines() if line.startswith("01_toy:3 "))
    assert "check_close" in row and row.rstrip().endswith("failed")
    assert "01_toy: error outside the exercises in cell 5: ZeroDivisionError" in text
    assert "01_toy: 1/5 passed (20%)" in text and text.endswith("total: 3/10 passed (30%)")
    long = {**graded}  # a long message is wrapped whole, never cut
    message = "word " * 60 + "END"
    nb0 = {**graded["notebooks"][0]}
    nb0["exercises"] = [{**nb0["exercises"][0], "message": message}]
    long["notebooks"] = [nb0]
    wrapped = grading.table(long, width=60)
    assert "END" in wrapped and "..." not in wrapped
    assert max(len(line) for line in wrapped.splitlines() if "word" in line) <= 60


BAD = [
    ("grade {d}/none", "DIR must be an existing folder"),
    ("grade {d}/handin --only 07", "only must name notebooks in the folder"),
    ("grade {d}/handin --only 00,,02", "--only must be comma-separated"),
    ("grade {d}/handin --timeout 0", "--timeout must be"),
    ("grade {d}/handin --report {d}/r.txt", "--report must be a file name ending in .json"),
    ("student-copy {d}/course/x --from {d}/course", "inside src_dir"),
    ("student-copy {d}/student --from {d}/course", "already holds"),
    ("student-copy {d}/out --from {d}/none", "--from must be a folder"),
]


@pytest.mark.parametrize("argv,fragment", BAD)
def test_cli_mistakes_are_one_line_and_exit_2(argv, fragment, toy, capsys):
    assert main(argv.format(d=toy).split()) == 2
    err = capsys.readouterr().err
    assert fragment in err and err.count("\n") == 1


def test_cli_student_copy(toy, capsys):
    out = toy / "cli_copy"
    assert main(["student-copy", str(out), "--from", str(toy / "course")]) == 0
    assert "wrote 1 notebooks with 5 exercises" in capsys.readouterr().out
    assert (out / "01_toy.ipynb").read_text() == (toy / "student" / "01_toy.ipynb").read_text()


# --------------------------------------------------------------------------------------------
# notebook 00's exercises: the course, a fresh student copy, a seeded mistake


MISTAKE_00 = "row_norms = lambda xs: np.sqrt(np.sum(xs**2, axis=1))  # the norm, not squared"


@pytest.fixture(scope="module")
def primer(tmp_path_factory):
    """Notebook 00 cut to its set-up cell and its exercises, as three graded folders."""
    d = tmp_path_factory.mktemp("primer")
    nb = nbformat.read(NOTEBOOKS / "00_jax_primer.ipynb", as_version=4)
    first = grading.exercises(nb)[0].solution
    nb.cells = nb.cells[:2] + nb.cells[first - 1 :]
    (d / "course").mkdir()
    nbformat.write(nb, d / "course" / "00_jax_primer.ipynb")
    grading.student_copy(d / "course", d / "fresh")
    seeded = nbformat.read(d / "fresh" / "00_jax_primer.ipynb", as_version=4)
    for ex in grading.exercises(nb):  # a student who did all three, one of them wrong
        seeded.cells[ex.solution].source = nb.cells[ex.solution].source
    ex2 = grading.exercises(nb)[1]
    seeded.cells[ex2.solution].source = "import numpy as np\n\n" + MISTAKE_00
    (d / "seeded").mkdir()
    nbformat.write(seeded, d / "seeded" / "00_jax_primer.ipynb")
    return {k: grading.grade(d / k)["notebooks"][0] for k in ("course", "fresh", "seeded")}


@pytest.mark.course  # a real notebook's kernel (15 s): run with the course tier
def test_primer_as_written_grades_100(primer):
    entry = primer["course"]
    assert entry["errors"] == [] and entry["total"] == 3 and entry["score"] == 1.0


@pytest.mark.course  # a real notebook's kernel (15 s): run with the course tier
def test_primer_fresh_student_copy_grades_0_not_attempted(primer):
    entry = primer["fresh"]
    assert entry["errors"] == [] and entry["score"] == 0.0
    assert [e["status"] for e in entry["exercises"]] == ["not attempted"] * 3


@pytest.mark.course  # a real notebook's kernel (15 s): run with the course tier
def test_primer_seeded_mistake_fails_exactly_that_exercise(primer):
    entry = primer["seeded"]
    assert [e["status"] for e in entry["exercises"]] == ["passed", "failed", "passed"]
    scope = {"np": np}
    exec(MISTAKE_00, scope)
    with pytest.raises(ExerciseError) as err:
        dc.exercises.nb00.check_row_norms(scope["row_norms"])
    assert entry["exercises"][1]["message"] == str(err.value)
    assert entry["exercises"][1]["checks"] == ["dc.exercises.nb00.check_row_norms"]


# --------------------------------------------------------------------------------------------
# the whole course (pytest -m course)

# one typical mistake per notebook (numpy only, so its check's message is reproduced here):
# (exercise, source defining what the check uses)
MISTAKES = {
    "00": (2, MISTAKE_00),
    "01": (2, "ftcs_limit = lambda dx, D: dx**2 / D  # the 2 of dx^2 / (2 D) forgotten"),
    "02": (1, "diffusion_constant = lambda dx, dt: dx**2 / dt  # the 2 forgotten"),
    "03": (1, "ou_stationary_variance = lambda theta, sigma: sigma**2 / theta  # no 2"),
    "04": (3, "gaussian_score = lambda z, t: -(z - 0.3) / 0.8  # the score of pop, not p_t"),
    "05": (1, "c = lambda lam: (1 + lam) / 2  # the slides' drift"),
    "06": (2, "bits_per_dim = lambda nll, d, bin_width: nll / (d * np.log(2))  # no bin width"),
    "07": (2, "vlb_gaussian = lambda s2, d, t0, t1: np.log((1 + s2 / t0) / (1 + s2 / t1))"),
    "08": (2, "ddim_step = lambda z, yhat, t, s: yhat + (s / t) * (z - yhat)  # no square root"),
    "09": (1, "guided = lambda yhat_c, yhat_u, w: yhat_u + w * (yhat_c - yhat_u)  # diffusers'"),
    "10": (4, "lognormal_in_t = lambda m, s: (m, s)  # logit tau read as ln t"),
}


@pytest.mark.course
def test_the_whole_course_grades_100_and_each_seeded_mistake_fails(tmp_path):
    """Every notebook whole, in one execution each: the course's answers all pass, and a typical
    mistake appended after the last exercise (its own solution cell and a copy of the check)
    fails with the check's message; nothing fails outside the exercises."""
    folder = tmp_path / "notebooks"
    folder.mkdir()
    expected = {}
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        number, source = MISTAKES[path.name[:2]]
        ex = grading.exercises(nb)[number - 1]
        checks = [nb.cells[k].source for k in ex.checks]
        nb.cells.append(nbformat.v4.new_code_cell(source, metadata={"tags": ["solution"]}))
        nb.cells.extend(nbformat.v4.new_code_cell(c) for c in checks)
        nbformat.write(nb, folder / path.name)
        scope = {"np": np, "dc": dc}
        exec(source, scope)
        x64 = any('"jax_enable_x64", True' in c.source for c in nb.cells[:3])  # its tolerance
        with jax.enable_x64(x64), pytest.raises(ExerciseError) as err:
            for c in checks:
                exec(c, scope)
        expected[path.stem] = str(err.value)
    report = grading.grade(folder, report=tmp_path / "grades.json")
    for entry in report["notebooks"]:
        *course, seeded = entry["exercises"]
        assert entry["errors"] == [], (entry["notebook"], entry["errors"])
        assert [e["status"] for e in course] == ["passed"] * len(course), entry["notebook"]
        assert seeded["status"] == "failed" and seeded["error"] == "ExerciseError"
        assert seeded["message"] == expected[entry["notebook"]]
    assert len(report["notebooks"]) == len(MISTAKES)
    print(grading.table(report))


def test_every_notebook_has_a_seeded_mistake():
    assert sorted(MISTAKES) == sorted(p.name[:2] for p in NOTEBOOKS.glob("*.ipynb"))


# --------------------------------------------------------------------------------------------
# the package's own implementation in an answer cell


def _marked(solution_source):
    """_mark on a two-cell exercise of notebook 10's exercise 2 whose check printed Correct."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(solution_source, metadata={"tags": ["solution"]}),
        nbformat.v4.new_code_cell("dc.exercises.nb10.check_fm_weighting(fm_weighting)"),
    ]
    nb.cells[1].outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="Correct: the weighting\n")
    ]
    ex = grading.Exercise(2, 0, (1,), ("dc.exercises.nb10.check_fm_weighting",), "")
    ok = {"status": "ok"}
    return grading._mark(ex, nb, {0: ok, 1: ok}, None)


def test_an_answer_calling_the_package_function_is_not_passed():
    status, message, _ = _marked("fm_weighting = dc.flow.fm_weighting")
    assert status == grading.USED_PACKAGE
    assert "fm_weighting" in message and "course's own implementation" in message
    assert _marked("from diffcourse.flow import fm_weighting")[0] == grading.USED_PACKAGE
    own = "def fm_weighting(t):\n    return (1 + np.sqrt(t)) ** 2 / t"
    assert _marked(own)[0] == grading.PASSED  # the student's own function of the same name


def test_package_calls_reads_the_syntax_tree():
    names = ("diffcourse.flow.fm_weighting", "*.posterior_mean")
    assert grading.package_calls("w = flow.fm_weighting(t)", names) == [names[0]]
    assert grading.package_calls("m = three.posterior_mean(z, t)", names) == [names[1]]
    assert grading.package_calls("from diffcourse.flow import fm_weighting", names) == [names[0]]
    assert grading.package_calls("from mylib import fm_weighting", names) == []
    assert grading.package_calls("def posterior_mean(p, w, z, t):\n    return 0", names) == []
    assert grading.package_calls("# fm_weighting in a comment", names) == []
    assert grading.package_calls("%timeit f()", names) == []  # not Python: nothing found
