import json

import nbformat
import pytest

from musicrec.errors import ParameterError
from musicrec.notebooks import NotebookFailed, execute_notebook, notebook_timings, notebook_title


def _notebook(path, cells):
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    params = nbformat.v4.new_code_cell('profile = "default"  # budget\ndevice = "cpu"  # device')
    params.metadata["tags"] = ["parameters"]
    nb.cells.insert(0, params)
    nbformat.write(nb, path)
    return path


def test_in_place_run_injects_parameters(tmp_path):
    path = _notebook(tmp_path / "01_ok.ipynb", [nbformat.v4.new_markdown_cell("# A title"),
                                                nbformat.v4.new_code_cell("print(profile)")])
    execute_notebook(path, profile="smoke", progress=False)
    nb = json.loads(path.read_text())
    assert nb["metadata"]["papermill"]["parameters"]["profile"] == "smoke"
    assert any("smoke" in "".join(o.get("text", "")) for c in nb["cells"] for o in c.get("outputs", []))
    assert notebook_title(path) == "A title"
    never_run = _notebook(tmp_path / "02_fresh.ipynb", [nbformat.v4.new_code_cell("1")])
    timings = notebook_timings([path, never_run]).set_index("notebook")
    assert timings.loc["01_ok", "profile"] == "smoke"
    assert 0 < timings.loc["01_ok", "wall_s"] == pytest.approx(nb["metadata"]["papermill"]["duration"], abs=0.1)
    assert timings["wall_s"].isna().tolist() == [False, True]


def test_the_timings_command_replaces_its_table_and_refuses_a_folder(tmp_path, capsys):
    from musicrec.cli import main

    path = _notebook(tmp_path / "01_ok.ipynb", [nbformat.v4.new_code_cell("1")])
    execute_notebook(path, profile="smoke", progress=False)
    table = tmp_path / "timings.csv"
    table.write_text("an older table")
    assert main(["notebook", "timings", str(path), "--csv", str(table)]) == 0
    assert table.read_text().startswith("notebook,profile,wall_s")
    assert main(["notebook", "timings", str(path), "--csv", str(tmp_path)]) == 2
    assert "is a folder; give a file name" in capsys.readouterr().err


def test_failing_notebook_names_the_cell_and_leaves_the_original(tmp_path, monkeypatch):
    monkeypatch.setattr("musicrec.notebooks.FAILED_DIR", tmp_path / "failed")
    path = _notebook(tmp_path / "02_bad.ipynb", [nbformat.v4.new_code_cell("x = 1"),
                                                 nbformat.v4.new_code_cell("raise ValueError('boom')")])
    before = path.read_text()
    with pytest.raises(NotebookFailed, match=r"02_bad.ipynb failed in cell \d+ .*ValueError: boom"):
        execute_notebook(path, profile="smoke", progress=False)
    assert path.read_text() == before
    assert (tmp_path / "failed" / "02_bad.ipynb").exists()
    assert not list(tmp_path.glob(".*.running.ipynb"))


def test_a_kernel_that_crashes_ends_the_run_with_an_error_naming_the_signal(tmp_path):
    import signal
    import threading

    path = _notebook(tmp_path / "03_crash.ipynb", [
        nbformat.v4.new_code_cell("import os, signal, time\ntime.sleep(0.5)\nos.kill(os.getpid(), signal.SIGSEGV)"),
        nbformat.v4.new_code_cell("print('never')")])
    before = path.read_text()
    # a runner that waits for a dead kernel would hang the suite: interrupt it after a minute instead
    watchdog = threading.Timer(60, lambda: signal.raise_signal(signal.SIGINT))
    watchdog.start()
    try:
        with pytest.raises(NotebookFailed, match=r"kernel running 03_crash.ipynb died \(killed by signal SIGSEGV\)"):
            execute_notebook(path, profile="smoke", progress=False)
    finally:
        watchdog.cancel()
    assert path.read_text() == before and not list(tmp_path.glob(".*.running.ipynb"))


def test_bad_profile_and_missing_notebook(tmp_path):
    with pytest.raises(ParameterError, match="profile='huge'"):
        execute_notebook(tmp_path / "x.ipynb", profile="huge")
    with pytest.raises(ParameterError, match="does not exist"):
        execute_notebook(tmp_path / "x.ipynb", profile="smoke")


# -- the kernel imports the checkout it runs, never touches the committed report, ends with the runner ----
PROBE = '''import pathlib, musicrec
root = pathlib.Path(musicrec.__file__).resolve().parent.parent
out = pathlib.Path(figures_dir)
out = out if out.is_absolute() else root / out
out.mkdir(parents=True, exist_ok=True)
(out / "01_probe.csv").write_text(profile)
print("PACKAGE", musicrec.__file__)'''


def _checkout(root, code=PROBE, name="01_probe.ipynb"):
    """A second, tiny checkout: a ``musicrec`` package of its own and a numbered notebook beside it."""
    (root / "musicrec").mkdir(parents=True)
    (root / "musicrec" / "__init__.py").write_text('"""A second checkout of the project."""\n')
    (root / "notebooks").mkdir()
    params = nbformat.v4.new_code_cell('profile = "default"  # budget\ndevice = "cpu"  # device\n'
                                       'figures_dir = "figures"  # output\nruns_dir = "runs"  # runs')
    params.metadata["tags"] = ["parameters"]
    nb = nbformat.v4.new_notebook(cells=[params, nbformat.v4.new_code_cell(code)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, root / "notebooks" / name)
    return root / "notebooks" / name


def _printed(path):
    cells = json.loads(path.read_text())["cells"]
    return "".join("".join(o.get("text", "")) for c in cells for o in c.get("outputs", []))


def test_the_kernel_imports_the_checkout_of_the_notebook(tmp_path):
    from musicrec.utils import PROJECT_ROOT

    notebook = _checkout(tmp_path / "second")
    execute_notebook(notebook, profile="default", progress=False)
    assert f"PACKAGE {(tmp_path / 'second' / 'musicrec' / '__init__.py').resolve()}" in _printed(notebook)
    assert (tmp_path / "second" / "figures" / "01_probe.csv").read_text() == "default"
    assert not (PROJECT_ROOT / "figures" / "01_probe.csv").exists()
    meta = json.loads(notebook.read_text())["metadata"]
    assert meta["musicrec"] == {"package": "musicrec/__init__.py", "checkout": "..", "profile": "default"}
    assert meta["papermill"]["input_path"] == "notebooks/01_probe.ipynb"
    assert str(tmp_path) not in json.dumps(meta)


def test_a_smoke_run_never_touches_the_committed_report(tmp_path):
    from musicrec.cli import main

    notebook = _checkout(tmp_path / "second")
    committed = notebook.read_bytes()
    with pytest.raises(ParameterError, match="smoke run would replace the committed notebook 01_probe.ipynb"):
        execute_notebook(notebook, profile="smoke", progress=False)
    assert main(["notebook", "run", str(notebook), "--profile", "smoke", "--output-dir", str(tmp_path / "x")]) == 0
    assert notebook.read_bytes() == committed
    assert not (tmp_path / "second" / "figures").exists()
    assert (tmp_path / "x" / "figures" / "01_probe.csv").read_text() == "smoke"
    assert "'runs_dir': '" + str(tmp_path / "x" / "runs") in str(
        json.loads((tmp_path / "x" / "01_probe.ipynb").read_text())["metadata"]["papermill"]["parameters"])


SLEEPER = '''import os, subprocess, sys, time
worker = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
with open(figures_dir + "/pids.partial", "w") as handle:
    handle.write(f"{os.getpid()} {worker.pid}")
os.replace(figures_dir + "/pids.partial", figures_dir + "/pids")
time.sleep(120)'''


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split(")")[-1].split()[0] != "Z"  # a zombie has ended
    except FileNotFoundError:
        return False


def test_the_kernel_and_its_workers_end_when_the_runner_is_killed(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    notebook = _checkout(tmp_path / "second", code=SLEEPER, name="02_sleep.ipynb")
    (tmp_path / "out").mkdir()
    runner = subprocess.Popen([sys.executable, "-m", "musicrec", "notebook", "run", str(notebook),
                               "--output-dir", str(tmp_path / "out"), "-p", f"figures_dir={tmp_path / 'out'}"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pids = tmp_path / "out" / "pids"
    try:
        deadline = time.time() + 120
        while not pids.exists() and time.time() < deadline and runner.poll() is None:
            time.sleep(0.2)
        children = [int(pid) for pid in pids.read_text().split()]
        assert all(_alive(pid) for pid in children)
    finally:
        runner.send_signal(signal.SIGKILL)
        runner.wait()
    deadline = time.time() + 10
    while any(_alive(pid) for pid in children) and time.time() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in children if _alive(pid)], "the kernel or its worker outlived the runner"
