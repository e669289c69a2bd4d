"""Executing the numbered notebooks with papermill, and keeping each paired with its ``.py`` source.

``make reproduce`` executes each notebook *in place*: papermill writes to a temporary file next to
it, which replaces the notebook only when every cell ran. A failing notebook leaves the committed
one untouched, keeps the failed copy under ``runs/failed-notebooks/`` and reports the notebook and
the cell that failed.

Every notebook ``NN_name.ipynb`` has a paired ``NN_name.py`` in jupytext's percent format (the settings
are in ``notebooks/jupytext.toml``): the ``.py`` is what a reviewer reads and a developer may edit. Of
a pair, the file changed last holds the cells (as ``jupytext --sync`` decides): an in-place run takes
its cells from the ``.py`` when that was edited after the notebook, and writes the ``.py`` afresh from
the executed notebook. The HTML report is built by :mod:`musicrec.report`.

The kernel imports the checkout being run: it is started with the running interpreter and the
notebook's checkout (the folder holding ``notebooks/`` and ``musicrec/``) first on ``PYTHONPATH``, so
a second checkout's notebook reads and writes that checkout, whatever ``musicrec`` is installed. The
kernel reports the package it imported, which must lie in that checkout, and the executed notebook
records it (root-relative) under ``metadata.musicrec``. The kernel ends with the runner: a watchdog
thread kills the kernel's process group (its workers included) when the runner goes away.

A smoke run never touches the committed report: it refuses to replace a committed notebook in
place, and a run with an output folder writes its figures (and, for smoke, its runs) inside that
folder unless the parameters say otherwise.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import sys
import tempfile
import uuid
from pathlib import Path
from collections.abc import Sequence
from typing import Any

from musicrec.errors import ParameterError, check_choice
from musicrec.profiles import PROFILES
from musicrec.runs import write_text_atomic
from musicrec.utils import DEVICES, PROJECT_ROOT, project_path

NOTEBOOK_DIR = PROJECT_ROOT / "notebooks"
FAILED_DIR = PROJECT_ROOT / "runs" / "failed-notebooks"
NOTEBOOK_PATTERN = re.compile(r"^\d\d_.+\.ipynb$")
#: The jupytext format of the paired sources, and the settings file used for notebooks outside notebooks/.
TEXT_FORMAT = "py:percent"
JUPYTEXT_CONFIG = NOTEBOOK_DIR / "jupytext.toml"
SYNC_CHOICES = ("newer", "ipynb", "py")

#: Environment variable through which the kernel reports the ``musicrec`` it imported.
KERNEL_REPORT_VARIABLE = "MUSICREC_KERNEL_REPORT"

# Started as ``python -c KERNEL_BOOTSTRAP -f CONNECTION_FILE``: watch the runner, say which musicrec
# this interpreter imports, then run ipykernel. ipykernel's own parent poller is switched off (it would
# exit the kernel alone and leave its workers running) in favour of killing the whole process group.
KERNEL_BOOTSTRAP = """
import json, os, signal, sys, threading, time
parent = int(os.environ.pop('JPY_PARENT_PID', '0') or 0) or os.getppid()
if os.getppid() != parent:
    os._exit(1)
def _end_with_parent():
    while os.getppid() == parent:
        time.sleep(0.2)
    if os.getpgrp() == os.getpid():
        os.killpg(os.getpid(), signal.SIGKILL)
    os._exit(1)
threading.Thread(target=_end_with_parent, name='end-with-runner', daemon=True).start()
report = os.environ.pop('MUSICREC_KERNEL_REPORT', '')
try:
    import musicrec
    found = dict(package=os.path.realpath(musicrec.__file__), python=sys.executable)
except Exception as error:
    found = dict(error=type(error).__name__ + ': ' + str(error))
if report:
    with open(report, 'w') as handle:
        json.dump(found, handle)
# parent handle 1: ipykernel starts no poller of its own and prints no console banner
os.environ['JPY_PARENT_PID'] = '1'
from ipykernel import kernelapp
kernelapp.launch_new_instance()
"""


class NotebookFailed(RuntimeError):
    """A notebook raised an error in one of its cells."""


def list_notebooks(folder: str | os.PathLike = NOTEBOOK_DIR) -> list[Path]:
    """The numbered notebooks (``NN_name.ipynb``) of ``folder``, in order."""
    folder = project_path(folder)
    return sorted(path for path in folder.glob("*.ipynb") if NOTEBOOK_PATTERN.match(path.name))


def checkout_of(notebook: str | os.PathLike) -> Path:
    """The checkout a notebook belongs to: the parent of its folder if that holds ``musicrec/``, else
    the checkout of the running ``musicrec`` (e.g. a notebook in a temporary folder)."""
    candidate = Path(notebook).resolve().parent.parent
    return candidate if (candidate / "musicrec" / "__init__.py").is_file() else PROJECT_ROOT


def is_committed_notebook(notebook: str | os.PathLike) -> bool:
    """True for a numbered notebook in a checkout's ``notebooks/`` folder (part of the report)."""
    path = Path(notebook).resolve()
    return (bool(NOTEBOOK_PATTERN.match(path.name)) and path.parent.name == "notebooks"
            and (path.parent.parent / "musicrec" / "__init__.py").is_file())


def kernel_spec(checkout: Path, report: Path):
    """The kernel of a run: this interpreter, ``checkout`` first on ``PYTHONPATH``, ended with the runner."""
    from jupyter_client.kernelspec import KernelSpec

    python_path = os.pathsep.join([str(checkout)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep)
                                                     if p])
    return KernelSpec(argv=[sys.executable, "-c", KERNEL_BOOTSTRAP, "-f", "{connection_file}"],
                      display_name="Python 3 (musicrec checkout)", language="python",
                      env={"PYTHONPATH": python_path, KERNEL_REPORT_VARIABLE: str(report)})


def kernel_manager_class(spec, ended: dict | None = None):
    """A jupyter ``KernelManager`` class that starts ``spec`` whatever kernel name is asked for.

    It is the asynchronous manager and client nbclient is built for: with the blocking client, waiting
    for a cell's output blocked nbclient's event loop, so its check that the kernel lives never ran and
    a run whose kernel crashed (e.g. a segfault in compiled code) waited for ever. The client also
    watches the kernel's process, not only its heartbeat: a dead process makes ``is_alive`` false at
    once, and its exit status goes into ``ended["returncode"]``.
    """
    from jupyter_client.asynchronous import AsyncKernelClient
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import default

    ended = {} if ended is None else ended

    class CheckoutSpecs(KernelSpecManager):
        def get_kernel_spec(self, kernel_name):
            return spec

    class WatchingKernelClient(AsyncKernelClient):
        def is_alive(self) -> bool:
            process = getattr(getattr(self.parent, "provisioner", None), "process", None)
            if process is not None and process.poll() is not None:
                ended["returncode"] = process.returncode
                return False
            return super().is_alive()

    class CheckoutKernelManager(AsyncKernelManager):
        @default("kernel_spec_manager")
        def _kernel_spec_manager_default(self):
            return CheckoutSpecs(data_dir=self.data_dir)

        @default("client_factory")
        def _client_factory_default(self):
            return WatchingKernelClient

    return CheckoutKernelManager


def _ended_how(returncode: int | None) -> str:
    """``exit status 1`` or ``signal SIGSEGV``, for the message of a dead kernel."""
    import signal

    if returncode is None:
        return "no exit status known"
    if returncode < 0:
        try:
            return f"killed by signal {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exit status {returncode}"


def execute_notebook(
    notebook: str | os.PathLike,
    *,
    profile: str = "default",
    device: str = "cpu",
    output: str | os.PathLike | None = None,
    parameters: dict[str, Any] | None = None,
    progress: bool = True,
    paired: bool = False,
) -> Path:
    """Execute ``notebook`` with papermill and return the path of the executed copy.

    Parameters
    ----------
    notebook : path
        The ``.ipynb`` to run.
    profile, device : str
        Passed to the notebook's ``parameters`` cell.
    output : path, optional
        Where to write the executed notebook; ``None`` means in place. A smoke run of a committed
        notebook needs one (the committed notebooks are the default-profile report).
    parameters : dict, optional
        Further parameters (e.g. ``figures_dir`` and ``runs_dir`` for a test run).
    progress : bool
        Show papermill's progress bar.
    paired : bool
        Keep the paired ``.py`` in sync (``make reproduce``): take the cells from the ``.py`` when it
        was edited after the notebook, and write it afresh from the executed notebook.
        Further parameters (e.g. ``figures_dir`` and ``runs_dir``). With ``output``, ``figures_dir``
        defaults to ``figures/`` beside the output (and for smoke, ``runs_dir`` to ``runs/`` there), so
        the checkout's ``figures/`` is left alone.
    """
    import papermill
    from nbclient.exceptions import DeadKernelError

    check_choice("profile", profile, PROFILES)
    check_choice("device", device, DEVICES)
    source = project_path(notebook)
    if source.is_dir():
        raise ParameterError(f"notebook {notebook} is a folder; give the .ipynb file(s)")
    if not source.exists():
        raise ParameterError(f"notebook {notebook} does not exist")
    if source.suffix != ".ipynb":
        raise ParameterError(f"notebook {notebook} is not a .ipynb file")
    target = project_path(output) if output is not None else source
    if target.is_dir():
        raise ParameterError(f"output {output} is a folder; give the notebook file to write")
    in_place = target.resolve() == source.resolve()
    if profile == "smoke" and in_place and is_committed_notebook(source):
        raise ParameterError(
            f"a smoke run would replace the committed notebook {source.name} (the default-profile report); "
            "give an output folder (--output-dir)")
    params = {"profile": profile, "device": device}
    if not in_place:
        params["figures_dir"] = str(target.parent / "figures")
        if profile == "smoke":
            params["runs_dir"] = str(target.parent / "runs")
    params.update(parameters or {})
    checkout = checkout_of(source)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.stem}.{uuid.uuid4().hex[:8]}.running.ipynb")
    paired = paired and target == source
    cells_from = source
    if paired and newer_side(source) == "py" and pair_difference(source) is not None:
        cells_from = source.with_name(f".{source.stem}.{uuid.uuid4().hex[:8]}.input.running.ipynb")
        write_notebook_atomic(notebook_from_text(source), cells_from)
    try:
        with tempfile.TemporaryDirectory(prefix="musicrec-kernel-") as scratch:
            report = Path(scratch) / "kernel.json"
            ended: dict = {}
            try:
                papermill.execute_notebook(
                    str(cells_from),
                    str(tmp),
                    parameters=params,
                    cwd=str(source.parent),
                    kernel_name="python3",
                    progress_bar=progress,
                    request_save_on_cell_execute=False,
                    kernel_manager_class=kernel_manager_class(kernel_spec(checkout, report), ended),
                )
            except papermill.PapermillExecutionError as error:
                failed = _keep_failed(tmp, source.name)
                raise NotebookFailed(
                    f"{source.name} failed in cell {error.cell_index} (execution count {error.exec_count}): "
                    f"{error.ename}: {error.evalue}\nthe failed notebook is kept at {failed}"
                ) from None
            except DeadKernelError:
                tmp.unlink(missing_ok=True)
                raise NotebookFailed(
                    f"the kernel running {source.name} died ({_ended_how(ended.get('returncode'))}); a crash in "
                    "compiled code (numba, torch, an audio decoder) ends a kernel this way") from None
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
            try:
                package = _kernel_package(report, checkout)
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
    finally:
        if cells_from != source:
            cells_from.unlink(missing_ok=True)
    _record_provenance(tmp, source, target, checkout, package, profile)
    os.replace(tmp, target)
    if paired:
        write_text_pair(target)
    return target


def _kernel_package(report: Path, checkout: Path) -> Path:
    """The ``musicrec/__init__.py`` the kernel imported; it must be the checkout's."""
    try:
        found = json.loads(report.read_text())
    except (OSError, ValueError):
        raise NotebookFailed("the kernel did not report which musicrec it imported") from None
    if "error" in found:
        raise NotebookFailed(f"the kernel could not import musicrec from {checkout.name}: {found['error']}")
    package = Path(found["package"])
    try:
        package.relative_to(checkout.resolve())
    except ValueError:
        raise NotebookFailed(f"the kernel imported musicrec from outside the checkout {checkout.name} "
                             "(is another copy first on PYTHONPATH?)") from None
    return package


def _relative(path: Path, root: Path) -> str:
    try:
        return Path(os.path.relpath(path.resolve(), root.resolve())).as_posix()
    except ValueError:  # another drive
        return path.name


def _record_provenance(executed: Path, source: Path, target: Path, checkout: Path, package: Path,
                       profile: str) -> None:
    """Record the paths of the run relative to the checkout (never as machine paths), and the package."""
    import nbformat

    notebook = nbformat.read(executed, as_version=4)
    meta = notebook.metadata.get("papermill", {})
    for key, path in (("input_path", source), ("output_path", target)):
        try:
            meta[key] = path.resolve().relative_to(checkout.resolve()).as_posix()
        except ValueError:  # outside the checkout (a test's temporary folder)
            meta[key] = path.name
    inside = target.resolve().is_relative_to(checkout.resolve())
    notebook.metadata["musicrec"] = {
        "package": package.relative_to(checkout.resolve()).as_posix(),
        "checkout": _relative(checkout, target.parent) if inside else checkout.name,
        "profile": profile,
    }
    for cell in notebook.cells:
        if cell.metadata.get("tags") == []:
            del cell.metadata["tags"]
    nbformat.write(notebook, executed)


def _keep_failed(tmp: Path, name: str) -> Path | None:
    if not tmp.exists():
        return None
    FAILED_DIR.mkdir(parents=True, exist_ok=True)
    kept = FAILED_DIR / name
    shutil.move(str(tmp), kept)
    return kept


def notebook_title(path: Path) -> str:
    """The first markdown heading of a notebook (or its file name)."""
    with Path(path).open() as handle:
        cells = json.load(handle).get("cells", [])
    for cell in cells:
        if cell.get("cell_type") == "markdown":
            for line in "".join(cell.get("source", "")).splitlines():
                if line.startswith("#"):
                    return line.lstrip("#").strip()
    return Path(path).stem


# -- the paired .py sources (jupytext percent format) -------------------------------------------------
def text_pair(notebook: str | os.PathLike) -> Path:
    """The ``.py`` paired with ``notebook`` (same folder and stem)."""
    return project_path(notebook).with_suffix(".py")


def _jupytext_config(notebook: Path):
    from jupytext.config import load_jupytext_config

    return load_jupytext_config(str(notebook)) or load_jupytext_config(str(JUPYTEXT_CONFIG))


def notebook_as_text(notebook: str | os.PathLike) -> str:
    """The percent-format source of ``notebook``: cells, their tags and the kernel; no outputs."""
    import jupytext
    import nbformat

    path = project_path(notebook)
    nb = nbformat.read(path, as_version=4)
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.metadata.get("tags") == []:
            del cell.metadata["tags"]
    return jupytext.writes(nb, fmt=TEXT_FORMAT, config=_jupytext_config(path))


def write_text_pair(notebook: str | os.PathLike) -> Path:
    """Write the ``.py`` of ``notebook`` (only when its text changes, so its timestamp means an edit)."""
    path = text_pair(notebook)
    text = notebook_as_text(notebook)
    if not path.exists() or path.read_text() != text:
        write_text_atomic(path, text)
    return path


def cell_sources(nb) -> list[tuple[str, str]]:
    """(cell type, source) of every cell: what a pair must agree on."""
    return [(cell.cell_type, cell.source.strip("\n")) for cell in nb.cells]


def pair_difference(notebook: str | os.PathLike) -> str | None:
    """``None`` when the notebook and its ``.py`` have the same cells, else a sentence saying where not."""
    import jupytext
    import nbformat

    path = project_path(notebook)
    text = text_pair(path)
    if not text.exists():
        return f"{text.name} is missing"
    ours = cell_sources(nbformat.read(path, as_version=4))
    theirs = cell_sources(jupytext.read(text, fmt=TEXT_FORMAT))
    for index, (cell, other) in enumerate(zip(ours, theirs)):
        if cell != other:
            first_line = next((line for line in cell[1].splitlines() if line.strip()), "")
            return f"cell {index} ({cell[0]}, {first_line[:50]!r}) differs between {path.name} and {text.name}"
    if len(ours) != len(theirs):
        return f"{path.name} has {len(ours)} cells and {text.name} {len(theirs)}"
    return None


def newer_side(notebook: str | os.PathLike) -> str:
    """``"py"`` if the ``.py`` was modified after the notebook, else ``"ipynb"``."""
    path = project_path(notebook)
    text = text_pair(path)
    if text.exists() and text.stat().st_mtime > path.stat().st_mtime:
        return "py"
    return "ipynb"


def notebook_from_text(notebook: str | os.PathLike):
    """The notebook with the cells of its ``.py`` and the outputs of the cells that did not change."""
    import jupytext
    import nbformat
    from jupytext.combine import combine_inputs_with_outputs

    path = project_path(notebook)
    executed = nbformat.read(path, as_version=4)
    edited = jupytext.read(text_pair(path), fmt=TEXT_FORMAT)
    return combine_inputs_with_outputs(edited, executed, fmt=TEXT_FORMAT)


def write_notebook_atomic(nb, path: Path) -> None:
    import nbformat

    write_text_atomic(path, nbformat.writes(nb) + "\n")


def sync_pair(notebook: str | os.PathLike, *, source: str = "newer") -> str:
    """Bring a notebook and its ``.py`` to the same cells; return what was done.

    Parameters
    ----------
    notebook : path
        The ``.ipynb``.
    source : {"newer", "ipynb", "py"}
        Which side holds the cells: the file modified last (as ``jupytext --sync``), or the one named.
        Cells taken from the ``.py`` keep their outputs when unchanged; run the notebook to refresh them.
    """
    check_choice("source", source, SYNC_CHOICES)
    path = project_path(notebook)
    if not path.exists():
        raise ParameterError(f"notebook {notebook} does not exist")
    text = text_pair(path)
    if source == "py" and not text.exists():
        raise ParameterError(f"{text.name} does not exist, so it cannot update {path.name}")
    if pair_difference(path) is None:
        write_text_pair(path)  # same cells; refresh the header or tags if they drifted
        return f"{path.name}: in sync"
    side = source if source != "newer" else newer_side(path)
    if side == "py" and text.exists():
        write_notebook_atomic(notebook_from_text(path), path)
        return f"{path.name}: cells updated from {text.name} (run it to refresh the outputs)"
    write_text_pair(path)
    return f"{text.name}: written from {path.name}"


def notebook_timings(notebooks: Sequence[str | os.PathLike] | None = None):
    """Wall time of each executed notebook, read from the metadata papermill wrote when it ran.

    Returns a DataFrame with one row per notebook: ``notebook``, ``profile``, ``wall_s`` (seconds, from the
    kernel's start to its end), ``wall_min`` and ``executed`` (the end time, UTC); a notebook that was never
    executed by papermill has empty values. A time is only as fresh as the notebook: a run that reused cached
    training runs is faster than one from scratch.
    """
    import nbformat
    import pandas as pd

    rows = []
    for path in map(Path, notebooks or list_notebooks()):
        meta = nbformat.read(path, as_version=4).metadata
        papermill = meta.get("papermill", {})
        duration = papermill.get("duration")
        profile = meta.get("musicrec", {}).get("profile") or papermill.get("parameters", {}).get("profile")
        rows.append({"notebook": path.stem, "profile": profile,
                     "wall_s": None if duration is None else round(float(duration), 1),
                     "wall_min": None if duration is None else round(float(duration) / 60, 2),
                     "executed": papermill.get("end_time")})
    return pd.DataFrame(rows, columns=["notebook", "profile", "wall_s", "wall_min", "executed"])
