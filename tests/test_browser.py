"""Every notebook, run top to bottom in a real JupyterLab driven by headless Chromium.

Marked ``browser`` (deselected by the default test command; ``.ci/run`` runs ``pytest -m
browser``). One JupyterLab server on 127.0.0.1, a free port and a random token serves a temporary
copy of ``notebooks/`` (and ``benchmarks/``, ``figures/``, which notebooks read), with JAX on the
CPU and ``DIFFCOURSE_QUICK=1``. For each notebook the test opens it, clears its outputs, runs
JupyterLab's "Restart Kernel and Run All Cells" command, waits until the kernel is idle and every
code cell has an execution count, and fails on an error output or a widget that did not render.
It saves a screenshot of the notebook's first figure into ``$BROWSER_ARTIFACTS`` (default: a
``diffcourse-browser-artifacts`` folder in the temporary directory; the path is printed).

``DIFFCOURSE_BROWSER_NOTEBOOKS=00,02`` restricts the run to the notebooks with those numbers;
``DIFFCOURSE_BROWSER_TIMEOUT`` is the seconds one notebook may take (default 1200).
"""

import json
import os
import pathlib
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import browser
import pytest
from helpers import user_environment

pytestmark = pytest.mark.browser

ROOT = pathlib.Path(__file__).resolve().parent.parent
ALL_NOTEBOOKS = sorted(p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
_only = os.environ.get("DIFFCOURSE_BROWSER_NOTEBOOKS", "").replace(",", " ").split()
NOTEBOOKS = [n for n in ALL_NOTEBOOKS if not _only or n[:2] in _only]
TIMEOUT = float(os.environ.get("DIFFCOURSE_BROWSER_TIMEOUT", "1200"))
ARTIFACTS = pathlib.Path(
    os.environ.get("BROWSER_ARTIFACTS")
    or pathlib.Path(tempfile.gettempdir()) / "diffcourse-browser-artifacts"
)

# JupyterLab user settings for the run: nothing saved (the copy stays as copied), every cell in
# the DOM (no windowing), no restart dialog, no news or update checks (a closed network).
SETTINGS = {
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/sessionDialogs": {"skipKernelRestartDialog": True},
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
}

# The notebook's state as JupyterLab's models hold it (window.jupyterapp: expose_app_in_browser).
STATE_JS = """(name) => {
  const app = window.jupyterapp;
  const panel = [...app.shell.widgets('main')].find(w => w.context && w.context.path.endsWith(name));
  if (!panel || !panel.content || !panel.content.model) return null;
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  const cells = [...panel.content.model.cells];
  const code = cells.filter(c => c.type === 'code');
  const errors = [];
  const prompts = [...panel.node.querySelectorAll('.jp-InputPrompt')].map(n => n.textContent);
  code.forEach((c, i) => {
    for (let j = 0; j < c.outputs.length; j++) {
      const o = c.outputs.get(j).toJSON();
      if (o.output_type === 'error') {
        errors.push(`cell ${cells.indexOf(c)}: ${o.ename}: ${o.evalue}`);
      } else if (o.output_type === 'stream' && /Traceback \\(most recent call last\\)/.test(o.text)) {
        errors.push(`cell ${cells.indexOf(c)}: traceback on ${o.name}`);
      }
    }
  });
  return {
    status: kernel ? kernel.status : 'none',
    busy: panel.sessionContext.kernelDisplayStatus,
    code: code.length,
    counted: code.filter(c => c.executionCount !== null).length,
    running: prompts.filter(p => p.includes('*')).length,
    errors,
  };
}"""

# Widgets as rendered: the output node of every widget output in the model must hold a rendered
# widget, not "Error displaying widget" or a loader that never finished.
WIDGETS_JS = """(name) => {
  const app = window.jupyterapp;
  const panel = [...app.shell.widgets('main')].find(w => w.context && w.context.path.endsWith(name));
  const found = [];
  panel.content.widgets.forEach((cell, i) => {
    if (cell.model.type !== 'code') return;
    const outputs = cell.model.outputs;
    for (let j = 0; j < outputs.length; j++) {
      if (!('application/vnd.jupyter.widget-view+json' in outputs.get(j).data)) continue;
      const child = cell.outputArea.widgets[j];
      const node = child ? child.node : null;
      found.push({
        cell: i,
        text: node ? node.innerText.slice(0, 200) : '(no output node)',
        // the error view is a .jupyter-widgets element too: its text tells them apart
        rendered: !!(node && node.querySelector('.jupyter-widgets'))
          && !/Error displaying widget|Loading widget/.test(node.innerText),
      });
    }
  });
  return found;
}"""


WIDGET_WAIT = 30.0  # seconds a widget view may take to leave "Loading widget..."


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _descendants(pid: int) -> list[int]:
    """The ids of ``pid``'s running descendants (read from /proc; kernels are among them)."""
    children = {}
    for entry in pathlib.Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def _api(base, token, path, method="GET"):
    req = urllib.request.Request(
        f"{base}{path}", method=method, headers={"Authorization": f"token {token}"}
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        body = resp.read()
    return json.loads(body) if body else None


def _git_status():
    if not (ROOT / ".git").exists() or shutil.which("git") is None:
        return None
    return subprocess.run(
        ["git", "-C", str(ROOT), "status", "--porcelain"], capture_output=True, text=True
    ).stdout


@pytest.fixture(scope="module")
def repo_status():
    return _git_status()


@pytest.fixture(scope="module")
def lab(tmp_path_factory, repo_status):
    """A JupyterLab server on a copy of the course; stopped with its kernels whatever happens."""
    browser.require_browser()
    tmp = tmp_path_factory.mktemp("lab")
    root = tmp / "course"
    root.mkdir()
    for name in ("notebooks", "benchmarks", "figures"):
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, root / name)
    settings = tmp / "settings"
    for plugin, values in SETTINGS.items():
        path = settings / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    env = {
        **user_environment(),  # the user's XLA_FLAGS: the notebooks run as a user runs them
        "JAX_PLATFORMS": "cpu",
        "DIFFCOURSE_QUICK": "1",
        "JUPYTERLAB_SETTINGS_DIR": str(settings),
        "JUPYTERLAB_WORKSPACES_DIR": str(tmp / "workspaces"),
        "JUPYTER_CONFIG_DIR": str(tmp / "config"),
        "JUPYTER_RUNTIME_DIR": str(tmp / "runtime"),
        "IPYTHONDIR": str(tmp / "ipython"),
    }
    port, token = _free_port(), secrets.token_hex(24)
    log = open(tmp / "jupyterlab.log", "wb")  # noqa: SIM115 - closed in the finalizer
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={root}",
            "--LabApp.expose_app_in_browser=True",
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--LabApp.extension_manager=readonly",  # no PyPI queries
            *(["--allow-root"] if os.geteuid() == 0 else []),  # CI containers run as root
        ],
        cwd=root,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, killed as one at the end
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if server.poll() is not None:
                pytest.fail(f"JupyterLab exited ({server.returncode}): {_tail(tmp)}")
            try:
                _api(base, token, "/api/status")
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab did not answer in 120 s: {_tail(tmp)}")
                time.sleep(0.5)
        yield {"base": base, "token": token, "root": root, "log": tmp / "jupyterlab.log"}
    finally:
        _stop(server, base, token)
        log.close()


def _tail(tmp) -> str:
    return (tmp / "jupyterlab.log").read_text(errors="replace")[-3000:]


def _stop(server, base, token):
    """Shut the kernels and the server down; kill whatever is left, by process id."""
    procs = _descendants(server.pid)
    try:
        for session in _api(base, token, "/api/sessions") or []:
            _api(base, token, f"/api/sessions/{session['id']}", method="DELETE")
        _api(base, token, "/api/shutdown", method="POST")
        server.wait(timeout=30)
    except (OSError, subprocess.TimeoutExpired, ValueError):
        pass
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if server.poll() is None:
            try:
                os.killpg(server.pid, sig)
                server.wait(timeout=15)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
    # kernels run in process groups of their own: end the ones this server started
    for pid in procs:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


@pytest.fixture(scope="module")
def context(lab):
    with browser.chromium() as ctx:
        yield ctx


def _shutdown_kernels(lab):
    for session in _api(lab["base"], lab["token"], "/api/sessions") or []:
        _api(lab["base"], lab["token"], f"/api/sessions/{session['id']}", method="DELETE")


def _run(lab, context, name):
    """Open ``notebooks/NAME``, clear it, restart and run all; return its state and widgets."""
    page = context.new_page()
    start = time.monotonic()
    try:
        # a workspace of its own, reset: no tab of an earlier notebook is restored
        workspace = pathlib.Path(name).stem.replace("_", "-")
        page.goto(
            f"{lab['base']}/lab/workspaces/{workspace}/tree/notebooks/{name}"
            f"?reset&token={lab['token']}"
        )
        page.wait_for_function(
            "() => window.jupyterapp && window.jupyterapp.shell", timeout=120_000
        )
        page.wait_for_function(
            f"() => ({STATE_JS})({json.dumps(name)}) !== null"
            f" && ({STATE_JS})({json.dumps(name)}).status === 'idle'",
            timeout=120_000,
        )
        # Stored outputs and counts go first, so every count seen afterwards is this run's.
        page.evaluate("() => window.jupyterapp.commands.execute('notebook:clear-all-cell-outputs')")
        page.evaluate("() => window.jupyterapp.commands.execute('notebook:restart-run-all')")
        state = _wait_for_run(page, name)
        # Let widget views finish rendering: a view shows "Loading widget..." until its model
        # arrives or is given up on ("Error displaying widget"), which on a busy machine takes
        # seconds after the kernel is idle. One still loading after WIDGET_WAIT s stays so.
        deadline = time.monotonic() + WIDGET_WAIT
        while True:
            page.wait_for_timeout(1000)
            widgets = page.evaluate(f"({WIDGETS_JS})({json.dumps(name)})")
            if time.monotonic() > deadline or not any(
                "Loading widget" in w["text"] for w in widgets
            ):
                break
        state["widgets"] = widgets
        state["seconds"] = time.monotonic() - start
        _screenshot_first_figure(page, name)
    finally:
        page.close()
        _shutdown_kernels(lab)
    return state


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_in_jupyterlab(lab, context, name):
    state = _run(lab, context, name)
    print(
        f"{name}: {state['seconds']:.0f} s, {state['counted']} code cells run, "
        f"{len(state['widgets'])} widgets; screenshot in {ARTIFACTS}"
    )
    assert not state["errors"], f"{name}: error outputs: {state['errors']}"
    assert state["counted"] == state["code"], f"{name}: not every code cell ran: {state}"
    for w in state["widgets"]:
        assert w["rendered"], f"{name}: a widget did not render: {w['text']!r}"
        assert "Error displaying widget" not in w["text"], f"{name}: {w['text']!r}"
        assert "Loading widget" not in w["text"], f"{name}: a widget stuck loading"


def test_the_checks_see_an_error_and_a_widget(lab, context):
    """The detector itself: stderr is no error, an exception is; a slider renders, a bad view not."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [
        nbformat.v4.new_code_cell("import sys\nprint('a warning', file=sys.stderr)"),
        nbformat.v4.new_code_cell("import ipywidgets\nipywidgets.IntSlider(3)"),
        nbformat.v4.new_code_cell(  # a view of a model that does not exist
            "view = {'model_id': 'no-such-model', 'version_major': 2, 'version_minor': 0}\n"
            "display({'application/vnd.jupyter.widget-view+json': view, 'text/plain': 'x'},"
            " raw=True)"
        ),
        nbformat.v4.new_code_cell("raise ValueError('seeded')"),
        nbformat.v4.new_code_cell("1 + 1"),
    ]
    name = "zz_seeded_error.ipynb"
    nbformat.write(nb, lab["root"] / "notebooks" / name)
    try:
        state = _run(lab, context, name)
    finally:
        (lab["root"] / "notebooks" / name).unlink()
        (ARTIFACTS / "zz_seeded_error.png").unlink(missing_ok=True)
    assert state["errors"] == ["cell 3: ValueError: seeded"], state
    assert state["counted"] == 4 and state["code"] == 5, state  # the last cell never ran
    assert [w["rendered"] for w in state["widgets"]] == [True, False], state
    assert "Error displaying widget" in state["widgets"][1]["text"], state


def _wait_for_run(page, name):
    """Poll the notebook until the run has finished (or stopped at an error)."""
    deadline = time.monotonic() + TIMEOUT
    state, idle_since = None, None
    time.sleep(2)  # the restart itself
    while time.monotonic() < deadline:
        state = page.evaluate(f"({STATE_JS})({json.dumps(name)})")
        done = state["status"] == "idle" and state["running"] == 0
        if done and (state["counted"] == state["code"] or state["errors"]):
            # idle twice in a row, a second apart: not the gap between two queued cells
            if idle_since is not None and time.monotonic() - idle_since >= 1.0:
                return state
            idle_since = idle_since or time.monotonic()
        else:
            idle_since = None
        time.sleep(1.0)
    pytest.fail(f"{name}: not finished in {TIMEOUT:.0f} s: {state}")


def _screenshot_first_figure(page, name):
    figure = (
        page.locator(
            ".jp-OutputArea-output[data-mime-type='image/png'] img, "
            ".jp-OutputArea-output[data-mime-type='image/svg+xml']"
        )
        .filter(visible=True)
        .first
    )
    path = ARTIFACTS / f"{pathlib.Path(name).stem}.png"
    if figure.count():
        figure.scroll_into_view_if_needed()
        figure.screenshot(path=str(path))
    else:  # a notebook without a figure: the top of the page instead
        page.screenshot(path=str(path))


def test_repository_untouched(lab, repo_status):
    """The run used a copy: the repository's working tree is as it was (after the notebooks)."""
    if repo_status is None:
        pytest.skip("not a git checkout")
    assert _git_status() == repo_status
