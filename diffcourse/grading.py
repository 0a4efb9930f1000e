"""The student edition of the course and its grader.

An **exercise** is a code cell tagged ``solution`` (the worked answer) and the code cells right
after it that call a check (``dc.exercises.nbNN.check_...(...)``, see :mod:`diffcourse.exercises`);
the markdown cell before it states the task. Exercises are numbered 1, 2, ... in the order of
their ``solution`` cells, and an exercise's identity is ``"<notebook stem>:<number>"`` (for
example ``"02_random_walks:3"``), with the names of its checks alongside.

:func:`student_copy` writes the notebooks with every ``solution`` cell replaced by a stub that
restates the task and raises ``NotImplementedError``, and the outputs of every solution and check
cell cleared; the checks are kept. :func:`grade` executes each notebook of a folder top to bottom
in a fresh kernel, carrying on after errors, and returns (and writes, as JSON) a report of every
exercise's status:

``passed``
    the solution cell ran, and every check cell after it ran without an error and printed a line
    starting with ``Correct`` (a check cell edited so that it checks nothing fails).
``used the course's own implementation``
    the checks passed, but the answer cell calls the package function that computes what the
    exercise asks (named in the exercise's registry entry, :func:`package_calls`): not passed.
``not attempted``
    the solution cell raised ``NotImplementedError`` (the stub, or the student's own), or a check
    raised ``NotImplementedError`` from the student's function (a stub inside a ``def``).
``failed``
    anything else, with a message: the check's own message (``ExerciseError``: what was expected,
    within what tolerance); or, when the student's solution cell itself raised (a bug in their
    code, a name from an unattempted earlier exercise), ``"your answer cell raised <Error>:
    <message>"``; or the error a check cell raised otherwise (a ``NameError`` when the cell did
    not define what the check needs); or that the notebook stopped (the kernel died) before the
    exercise ran.

Errors raised outside exercise cells are listed per notebook (cell index, error name, message);
they never stop the grading, and nor does a notebook that cannot be read or whose kernel dies.

No pickle: notebooks are read and written as JSON by :mod:`nbformat`, the report is JSON.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import os
import pathlib
import re
import subprocess
import time

import nbformat

SOLUTION_TAG = "solution"
PASSED, FAILED, NOT_ATTEMPTED = "passed", "failed", "not attempted"
USED_PACKAGE = "used the course's own implementation"
KERNEL_ENV = {"JAX_PLATFORMS": "cpu", "DIFFCOURSE_QUICK": "1"}  # set in every grading kernel
DEFAULT_TIMEOUT = 600  # seconds per cell; quick mode's longest training cell takes about a minute
KERNEL_NAME = "python3"  # jupyter_client runs it with the grader's own interpreter
MAX_TASK_CHARS = 240  # of the task restated in a stub

_CHECK_CALL = re.compile(r"(?<![\w.])((?:[A-Za-z_]\w*\.)*check_\w+)\s*\(")
_TASK_START = re.compile(r"\*\*(?:Exercise\s+)?(\d+)\.")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_NOT_IMPLEMENTED = re.compile(r"(?m)^NotImplementedError\b|raised NotImplementedError\(")
_RELATIVE_PATH = re.compile(r"""["'](\.\./[^"']+)["']""")


@dataclasses.dataclass(frozen=True)
class Exercise:
    """One exercise of a notebook: its number, its cells (indices) and the checks they call."""

    number: int
    solution: int  # index of the solution cell
    checks: tuple  # indices of the check cells after it
    check_names: tuple  # e.g. ("dc.exercises.nb02.check_tail_fraction",)
    task: str  # the task, from the markdown cell before (may be "")


@dataclasses.dataclass(frozen=True)
class StudentCopy:
    """What :func:`student_copy` wrote: the notebooks, and notes for the teacher."""

    notebooks: tuple  # paths written
    exercises: int  # stubs written
    notes: tuple  # e.g. a notebook that reads a file outside its folder


# --------------------------------------------------------------------------------------------
# the package's own implementation in an answer cell


def package_calls(source: str, package) -> list:
    """The names in ``package`` (a registry entry's package functions: ``"diffcourse.flow.fm_weighting"``
    for a function, ``"*.posterior_mean"`` for a method of any object) that ``source`` uses,
    read from its syntax tree: an attribute access ``<anything>.name`` (``dc.flow.fm_weighting``,
    ``flow.fm_weighting``, ``pop.posterior_mean``) or ``from <module> import name``. A function
    of the student's own with the same name (a plain ``name``) is not counted."""
    tree = _parse(source)
    if tree is None or not package:
        return []
    wanted = {p.rsplit(".", 1)[-1]: p for p in package}
    used = []
    for node in ast.walk(tree):
        name = None
        if isinstance(node, ast.Attribute) and node.attr in wanted:
            name = node.attr
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            for alias in node.names:
                target = wanted.get(alias.name)
                if target and (target.startswith("*") or target.rsplit(".", 1)[0] == module):
                    name = alias.name
        if name is not None and wanted[name] not in used:
            used.append(wanted[name])
    return used


def _registry_entry(ex: Exercise):
    """The registry entry of an exercise's first check, or None (an unknown check)."""
    if not ex.check_names:
        return None
    try:
        from diffcourse import exercises as _ex

        return _ex.entry_for(ex.check_names[0])
    except Exception:  # a broken registry never stops the grading
        return None


# --------------------------------------------------------------------------------------------
# finding the exercises


def _tags(cell) -> list:
    return list(cell.get("metadata", {}).get("tags", []))


def _is_solution(cell) -> bool:
    return SOLUTION_TAG in _tags(cell)


def _check_names(source: str) -> list:
    return _CHECK_CALL.findall(source)


def _task(cell) -> str:
    """The task stated in a markdown cell: the text from its last ``**N.**`` marker on."""
    if cell is None or cell.cell_type != "markdown":
        return ""
    text = cell.source
    starts = list(_TASK_START.finditer(text))
    if starts:
        text = text[starts[-1].start() :]
    else:  # no numbered marker: the last paragraph
        text = text.strip().split("\n\n")[-1]
    text = " ".join(text.replace("**", "").split())
    return re.sub(r"^(?:Exercise\s+)?\d+\.\s*", "", text)


def exercises(nb, name: str = "notebook", *, strict: bool = True) -> list:
    """The exercises of a notebook node, in order (see the module docstring).

    With ``strict`` (the course's notebooks), raises ``ValueError`` when a ``solution`` tag sits on
    a markdown cell (a written answer would leak and cannot be checked) or a ``solution`` cell has
    no check cell right after it. Without it (a student's notebook, where a check may have been
    deleted), such an exercise is returned with no check cells, and the grader fails it.
    """
    found = []
    cells = nb.cells
    for i, cell in enumerate(cells):
        if not _is_solution(cell):
            continue
        if cell.cell_type != "code" and strict:
            raise ValueError(
                f"{name}: cell {i} carries the '{SOLUTION_TAG}' tag but is a {cell.cell_type} "
                "cell; only code cells (each followed by a check cell) can be exercises"
            )
        checks = []
        j = i + 1
        while j < len(cells) and cells[j].cell_type == "code" and not _is_solution(cells[j]):
            if not _check_names(cells[j].source):
                break
            checks.append(j)
            j += 1
        if not checks and strict:
            raise ValueError(
                f"{name}: the '{SOLUTION_TAG}' cell {i} must be followed by a code cell calling a "
                "check (dc.exercises.nbNN.check_...(...)); the next cell calls none"
            )
        names = tuple(n for k in checks for n in _check_names(cells[k].source))
        prev = cells[i - 1] if i > 0 else None
        found.append(Exercise(len(found) + 1, i, tuple(checks), names, _task(prev)))
    return found


# --------------------------------------------------------------------------------------------
# the student copy


class _Bound(ast.NodeVisitor):
    """The global names a cell binds (not the locals of the functions it defines)."""

    def __init__(self):
        self.names = []

    def _add(self, name):
        if name not in self.names:
            self.names.append(name)

    def visit_Name(self, node):
        if isinstance(node.ctx, ast.Store):
            self._add(node.id)

    def visit_FunctionDef(self, node):
        self._add(node.name)  # its body binds locals only

    visit_AsyncFunctionDef = visit_ClassDef = visit_FunctionDef

    def visit_Lambda(self, node):
        pass

    def visit_alias(self, node):
        self._add((node.asname or node.name).split(".")[0])


def _parse(source: str):
    try:
        return ast.parse(source)
    except SyntaxError:  # IPython magics or a student's typo: no names known
        return None


def needed_names(solution: str, checks) -> list:
    """The names a check cell uses that the solution cell defines: what the student must define."""
    tree = _parse(solution)
    if tree is None:
        return []
    bound = _Bound()
    bound.visit(tree)
    used = []
    for source in checks:
        check = _parse(source)
        if check is None:
            continue
        for node in ast.walk(check):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                if node.id in bound.names and node.id not in used:
                    used.append(node.id)
    return used


def _short(text: str, limit: int = MAX_TASK_CHARS) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit]
    end = max(cut.rfind(". "), cut.rfind("? "), cut.rfind(") "))
    cut = cut[: end + 1] if end > limit // 3 else cut.rsplit(" ", 1)[0] + " ..."
    return cut + " (the full task is in the cell above)"


def stub(ex: Exercise, names) -> str:
    """The stub source for an exercise: the task restated as comments, the names the check needs
    forgotten (a value left by an earlier cell must not pass the check), and a
    ``raise NotImplementedError``."""
    task = _short(ex.task) if ex.task else "the task is in the cell above."
    lines = [f"# Exercise {ex.number}. " + task]
    if names:
        listed = ", ".join(names)
        them = "them" if len(names) > 1 else "it"
        lines.append(
            f"# Write your answer in this cell: define {listed} (the check below uses {them})."
        )
        lines.append(f"for _name in {tuple(names)!r}:  # forget values left by earlier cells")
        lines.append("    globals().pop(_name, None)")
    else:
        lines.append("# Write your answer in this cell, then run the check below.")
    lines.append(
        f'raise NotImplementedError("exercise {ex.number}: replace this line with your answer")'
    )
    wrapped = []
    for line in lines:  # keep comment lines under 100 characters
        while line.startswith("# ") and len(line) > 99:
            cut = line.rfind(" ", 0, 99)
            wrapped.append(line[:cut])
            line = "# " + line[cut + 1 :]
        wrapped.append(line)
    return "\n".join(wrapped)


def _clear(cell):
    cell.outputs = []
    cell.execution_count = None
    cell.metadata.pop("execution", None)


def student_notebook(nb, name: str = "notebook"):
    """A student edition of one notebook node (a new node): see :func:`student_copy`.

    Returns ``(notebook, exercises)``.
    """
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))  # a deep copy
    found = exercises(nb, name)
    for ex in found:
        sol = nb.cells[ex.solution]
        checks = [nb.cells[k].source for k in ex.checks]
        sol.source = stub(ex, needed_names(sol.source, checks))
        _clear(sol)
        for k in ex.checks:
            _clear(nb.cells[k])
    nbformat.validate(nb)
    return nb, found


def _notebooks(directory, what: str) -> list:
    d = pathlib.Path(directory)
    if not d.is_dir():
        got = "a file" if d.exists() else "nothing there"
        raise ValueError(f"{what} must be an existing folder of notebooks; got {str(d)!r} ({got})")
    found = sorted(p for p in d.glob("*.ipynb") if p.is_file())
    if not found:
        raise ValueError(f"{what} must hold notebooks (*.ipynb); got {str(d)!r}, which has none")
    return found


def _is_within(path: pathlib.Path, folder: pathlib.Path) -> bool:
    return path == folder or folder in path.parents


def _write_atomic(path: pathlib.Path, text: str):
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def student_copy(src_dir, out_dir, *, overwrite: bool = False) -> StudentCopy:
    """Write the student edition of every notebook in ``src_dir`` (``*.ipynb``) into ``out_dir``.

    Each ``solution`` cell's source becomes a stub (:func:`stub`): the task restated in a comment,
    the names its check needs removed from the kernel's globals, and ``raise NotImplementedError``,
    so the check cell after it fails and the grader reports the exercise "not attempted"; a stub
    never defines an answer, so a check can never pass on it. The outputs and execution counts of
    solution and check cells are cleared (a stored answer or a stored "Correct" must not leak);
    every other cell keeps its stored outputs, so the student edition reads like the course, its
    figures included (the exercises ask for numbers that no other cell prints). Cell ids, tags
    and metadata are kept, and each notebook is validated against nbformat's schema.

    Refuses, with a ``ValueError`` saying what was wrong and what is expected, before writing
    anything: ``src_dir`` not a folder of notebooks; ``out_dir`` equal to ``src_dir`` or inside
    it, or an existing file; a notebook in ``out_dir`` that would be overwritten, unless
    ``overwrite=True``; a malformed exercise (see :func:`exercises`). Returns a
    :class:`StudentCopy`, whose ``notes`` name cells that read files by a path relative to the
    notebook folder that leaves it (the copy must be handed out where that path exists).
    """
    sources = _notebooks(src_dir, "src_dir")
    src = pathlib.Path(src_dir).resolve()
    out = pathlib.Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ValueError(f"out_dir must be a folder (or a new name); got {str(out)!r}, a file")
    if _is_within(out.resolve(), src):
        raise ValueError(
            "out_dir must be a folder outside the course's notebooks (the student edition must "
            f"not mix with the answers); got {str(out)!r}, which is inside src_dir {str(src)!r}"
        )
    targets = [out / p.name for p in sources]
    existing = [t for t in targets if t.exists()]
    if existing and not overwrite:
        raise ValueError(
            f"out_dir already holds {len(existing)} of the notebooks (e.g. {str(existing[0])!r}); "
            "pass overwrite=True (--overwrite) to replace them, or choose a new folder"
        )
    copies, notes, count = [], [], 0
    for path in sources:  # build every copy before writing any
        try:
            nb = nbformat.read(path, as_version=4)
        except Exception as err:
            raise ValueError(
                f"src_dir's {path.name} must be a readable notebook; got {err}"
            ) from None
        copy, found = student_notebook(nb, path.name)
        count += len(found)
        copies.append(copy)
        for i, cell in enumerate(copy.cells):
            if cell.cell_type == "code":
                for rel in _RELATIVE_PATH.findall(cell.source):
                    notes.append(
                        f"{path.name} cell {i} reads {rel!r} relative to its folder: hand the copy "
                        "out in a folder where that path exists, or that cell will fail"
                    )
    out.mkdir(parents=True, exist_ok=True)
    for target, copy in zip(targets, copies, strict=True):
        _write_atomic(target, nbformat.writes(copy) + "\n")
    return StudentCopy(tuple(targets), count, tuple(notes))


# --------------------------------------------------------------------------------------------
# grading


def _clean(text, limit: int = 4000) -> str:
    """An error message as the student would read it: colour codes removed, at most ``limit``."""
    text = _ANSI.sub("", str(text)).strip()
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _one_line(text, limit: int = 4000) -> str:
    return " ".join(_clean(text, limit).split())


def _execute(path: pathlib.Path, nb, timeout: int):
    """Run ``nb`` in a fresh kernel; return ``(replies, fatal)``: each executed cell's execute
    reply content by index, and the error that stopped the run early (or None)."""
    from nbclient import NotebookClient

    replies = {}

    def record(cell=None, cell_index=None, execute_reply=None, **_):
        if execute_reply is not None:
            replies[cell_index] = execute_reply.get("content", {})

    client = NotebookClient(
        nb,
        timeout=timeout,
        allow_errors=True,
        interrupt_on_timeout=True,
        error_on_timeout={
            "ename": "CellTimeoutError",
            "evalue": f"the cell ran longer than {timeout} s and was interrupted",
            "traceback": [],
        },
        kernel_name=KERNEL_NAME,
        resources={"metadata": {"path": str(path.parent)}},
        on_cell_executed=record,
        on_cell_error=record,
    )
    fatal = None
    try:
        client.execute(env={**os.environ, **KERNEL_ENV}, stderr=subprocess.DEVNULL)
    except Exception as err:  # a dead kernel, a missing kernel: report, do not crash
        fatal = {"error": type(err).__name__, "message": _one_line(err, 500) or type(err).__name__}
    return replies, fatal


def _error(reply):
    if reply is None or reply.get("status") != "error":
        return None
    return reply.get("ename", "Error"), _clean(reply.get("evalue", "")), reply


def _not_implemented(err) -> bool:
    ename, evalue, reply = err
    if ename == "NotImplementedError":
        return True
    trace = _ANSI.sub("", "\n".join(reply.get("traceback", [])))
    return bool(_NOT_IMPLEMENTED.search(trace) or _NOT_IMPLEMENTED.search(evalue))


def _printed_correct(cell) -> bool:
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream" and out.get("name") == "stdout":
            text = out.get("text", "")
            text = "".join(text) if isinstance(text, list) else text
            if any(line.startswith("Correct") for line in text.splitlines()):
                return True
    return False


def _mark(ex: Exercise, nb, replies, fatal) -> tuple:
    """``(status, message, error name)`` of one exercise (see the module docstring)."""
    if nb.cells[ex.solution].cell_type != "code" or not ex.checks:
        return (
            FAILED,
            f"no check cell follows the answer cell {ex.solution} (was it deleted?)",
            None,
        )
    if ex.solution not in replies:
        why = f"{fatal['error']}: {fatal['message']}" if fatal else "it was not executed"
        return FAILED, f"not run: the notebook stopped before this exercise ({why})", None
    err = _error(replies[ex.solution])
    if err is not None:
        if _not_implemented(err):
            return NOT_ATTEMPTED, "", err[0]
        return FAILED, f"your answer cell raised {err[0]}: {err[1]}", err[0]
    for k in ex.checks:
        if k not in replies:
            why = f"{fatal['error']}: {fatal['message']}" if fatal else "it was not executed"
            return FAILED, f"not run: the notebook stopped in the check cell {k} ({why})", None
        err = _error(replies[k])
        if err is not None:
            if _not_implemented(err):
                return NOT_ATTEMPTED, "", err[0]
            if err[0] in ("ExerciseError", "AssertionError"):
                return FAILED, err[1], err[0]
            return FAILED, f"the check cell raised {err[0]}: {err[1]}", err[0]
        if not _printed_correct(nb.cells[k]):
            return (
                FAILED,
                f"the check cell {k} ran but printed no 'Correct' line (was the check edited?)",
                None,
            )
    entry = _registry_entry(ex)
    used = package_calls(nb.cells[ex.solution].source, entry.package) if entry else []
    if used:
        return (
            USED_PACKAGE,
            f"your answer calls {', '.join(u.lstrip('*.') for u in used)}, the course's own "
            "implementation of what the exercise asks you to write",
            None,
        )
    return PASSED, "", None


def _grade_notebook(path: pathlib.Path, timeout: int) -> dict:
    entry = {"notebook": path.stem, "file": path.name, "exercises": [], "errors": []}
    start = time.perf_counter()
    try:
        nb = nbformat.read(path, as_version=4)
        found = exercises(nb, path.name, strict=False)
    except Exception as err:  # unreadable or invalid: reported
        entry["errors"].append(
            {"cell": None, "error": type(err).__name__, "message": _one_line(err, 500)}
        )
        return _totals(entry, start)
    for cell in nb.cells:
        if cell.cell_type == "code":
            _clear(cell)
    replies, fatal = _execute(path, nb, timeout)
    in_exercise = {i for ex in found for i in (ex.solution, *ex.checks)}
    for i in sorted(replies):
        err = _error(replies[i])
        if err is not None and i not in in_exercise:
            entry["errors"].append({"cell": i, "error": err[0], "message": err[1]})
    if fatal is not None:
        code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
        stopped = next((i for i in code if i not in replies), None)
        entry["errors"].append({"cell": stopped, **fatal})
    for ex in found:
        status, message, error = _mark(ex, nb, replies, fatal)
        registered = _registry_entry(ex)
        entry["exercises"].append(
            {
                "id": f"{path.stem}:{ex.number}",
                "exercise": ex.number,
                "checks": list(ex.check_names),
                "cell": ex.solution,
                "status": status,
                "message": message,
                "error": error,
                "tried": registered.tried if registered else "",
            }
        )
    return _totals(entry, start)


def _totals(entry: dict, start: float) -> dict:
    exs = entry["exercises"]
    entry["passed"] = sum(e["status"] == PASSED for e in exs)
    entry["not_attempted"] = sum(e["status"] == NOT_ATTEMPTED for e in exs)
    entry["failed"] = sum(e["status"] == FAILED for e in exs)
    entry["used_package"] = sum(e["status"] == USED_PACKAGE for e in exs)
    entry["total"] = len(exs)
    entry["score"] = entry["passed"] / len(exs) if exs else None
    entry["seconds"] = round(time.perf_counter() - start, 1)
    return entry


def select(paths, only) -> list:
    """The notebooks among ``paths`` named by ``only`` (numbers like ``"02"`` or stems), in order;
    ``ValueError`` naming the ones that match nothing."""
    if only is None:
        return list(paths)
    wanted = [str(w).strip() for w in only]
    if not wanted or any(not w for w in wanted):
        raise ValueError(f"only must list notebook numbers or names such as 00,02; got {only!r}")
    match = lambda p, w: p.stem == w or p.name == w or p.stem.startswith(w + "_")
    unknown = [w for w in wanted if not any(match(p, w) for p in paths)]
    if unknown:
        names = ", ".join(p.stem for p in paths)
        raise ValueError(f"only must name notebooks in the folder ({names}); got {unknown}")
    return [p for p in paths if any(match(p, w) for w in wanted)]


def grade(directory, *, only=None, timeout: int = DEFAULT_TIMEOUT, report=None, progress=None):
    """Execute each notebook of ``directory`` in a fresh kernel and grade its exercises.

    Each notebook (``*.ipynb`` in ``directory``, or those named by ``only``: numbers such as
    ``["00", "02"]`` or stems) runs top to bottom in its own fresh ``python3`` kernel of this
    interpreter, in the notebook's folder, with ``JAX_PLATFORMS=cpu`` and ``DIFFCOURSE_QUICK=1``
    in the kernel's environment, ``timeout`` seconds per cell (a cell past it is interrupted and
    reported), and errors allowed, so every exercise is graded. Stored outputs are ignored.

    Returns the report, a JSON-ready dict: ``notebooks`` (per notebook: ``exercises`` with ``id``,
    ``exercise``, ``checks``, ``cell``, ``status``, ``message``, ``error``; ``errors`` raised
    outside exercise cells, each ``{"cell", "error", "message"}``; ``passed``, ``failed``,
    ``not_attempted``, ``total``, ``score``, ``seconds``) and the totals ``passed``, ``total``,
    ``score``. Statuses are explained in the module docstring. When ``report`` is a path (a
    ``.json`` file in a writable folder, checked before anything runs) the report is written there.
    ``progress``, if given, is called with one line per notebook graded.
    """
    from diffcourse import _validate

    paths = select(_notebooks(directory, "the folder to grade"), only)
    timeout = _validate.integer("timeout", timeout, minimum=1)
    if report is not None:
        report = _validate.writable_file("report", report, (".json",))
    notebooks = []
    for path in paths:
        entry = _grade_notebook(path, timeout)
        notebooks.append(entry)
        if progress is not None:
            progress(
                f"{entry['file']}: {entry['passed']}/{entry['total']} passed, "
                f"{len(entry['errors'])} errors outside exercises, {entry['seconds']} s"
            )
    passed = sum(n["passed"] for n in notebooks)
    total = sum(n["total"] for n in notebooks)
    result = {
        "folder": str(pathlib.Path(directory)),
        "kernel_env": dict(KERNEL_ENV),
        "timeout_per_cell": timeout,
        "notebooks": notebooks,
        "passed": passed,
        "total": total,
        "score": passed / total if total else None,
    }
    if report is not None:
        _write_atomic(report, json.dumps(result, indent=2) + "\n")
    return result


def table(report: dict, width: int = 100) -> str:
    """The report as plain text a student reads: per exercise its status, the check's whole
    message and what the check tried (wrapped at ``width``, never cut); errors outside the
    exercises; per notebook a summary line for the teacher (passed, failed, not attempted, the
    package's own implementation used); and the total."""
    import textwrap

    def wrapped(label, text):
        text = _one_line(text)
        return textwrap.wrap(
            text, width, initial_indent=f"    {label}", subsequent_indent=" " * (4 + len(label))
        )

    rows = []
    for nb in report["notebooks"]:
        for ex in nb["exercises"]:
            check = ex["checks"][0].rsplit(".", 1)[-1] if ex["checks"] else ""
            rows.append(f"{ex['id']:<28} {check:<32} {ex['status']}")
            if ex["message"]:
                rows += wrapped("why: ", ex["message"])
            if ex.get("tried"):
                rows += wrapped("the check: ", ex["tried"])
        for err in nb["errors"]:
            where = "the notebook file" if err["cell"] is None else f"cell {err['cell']}"
            rows += wrapped(
                f"{nb['notebook']}: error outside the exercises in {where}: ",
                f"{err['error']}: {err['message']}",
            )
        score = "" if nb["score"] is None else f" ({100 * nb['score']:.0f}%)"
        rows.append(
            f"  {nb['notebook']}: {nb['passed']}/{nb['total']} passed{score}, "
            f"{nb['failed']} failed, {nb['not_attempted']} not attempted, "
            f"{nb.get('used_package', 0)} used the course's own implementation; {nb['seconds']} s"
        )
    score = "" if report["score"] is None else f" ({100 * report['score']:.0f}%)"
    rows.append(f"total: {report['passed']}/{report['total']} passed{score}")
    return "\n".join(rows)
