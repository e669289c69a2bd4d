"""Executing the numbered notebooks with papermill, and rendering them to HTML.

``make reproduce`` executes each notebook *in place*: papermill writes to a temporary file next to
it, which replaces the notebook only when every cell ran. A failing notebook leaves the committed
one untouched, keeps the failed copy under ``runs/failed-notebooks/`` and reports the notebook and
the cell that failed.

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

import html
import json
import os
import re
import shutil
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

from musicrec.errors import ParameterError, check_choice
from musicrec.profiles import PROFILES
from musicrec.utils import DEVICES, PROJECT_ROOT, project_path

NOTEBOOK_DIR = PROJECT_ROOT / "notebooks"
FAILED_DIR = PROJECT_ROOT / "runs" / "failed-notebooks"
NOTEBOOK_PATTERN = re.compile(r"^\d\d_.+\.ipynb$")
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


def kernel_manager_class(spec):
    """A jupyter ``KernelManager`` class that starts ``spec`` whatever kernel name is asked for."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager
    from traitlets import default

    class CheckoutSpecs(KernelSpecManager):
        def get_kernel_spec(self, kernel_name):
            return spec

    class CheckoutKernelManager(KernelManager):
        @default("kernel_spec_manager")
        def _kernel_spec_manager_default(self):
            return CheckoutSpecs(data_dir=self.data_dir)

    return CheckoutKernelManager


def execute_notebook(
    notebook: str | os.PathLike,
    *,
    profile: str = "default",
    device: str = "cpu",
    output: str | os.PathLike | None = None,
    parameters: dict[str, Any] | None = None,
    progress: bool = True,
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
        Further parameters (e.g. ``figures_dir`` and ``runs_dir``). With ``output``, ``figures_dir``
        defaults to ``figures/`` beside the output (and for smoke, ``runs_dir`` to ``runs/`` there), so
        the checkout's ``figures/`` is left alone.
    """
    import papermill

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
    with tempfile.TemporaryDirectory(prefix="musicrec-kernel-") as scratch:
        report = Path(scratch) / "kernel.json"
        try:
            papermill.execute_notebook(
                str(source),
                str(tmp),
                parameters=params,
                cwd=str(source.parent),
                kernel_name="python3",
                progress_bar=progress,
                request_save_on_cell_execute=False,
                kernel_manager_class=kernel_manager_class(kernel_spec(checkout, report)),
            )
        except papermill.PapermillExecutionError as error:
            failed = _keep_failed(tmp, source.name)
            raise NotebookFailed(
                f"{source.name} failed in cell {error.cell_index} (execution count {error.exec_count}): "
                f"{error.ename}: {error.evalue}\nthe failed notebook is kept at {failed}"
            ) from None
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        try:
            package = _kernel_package(report, checkout)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    _record_provenance(tmp, source, target, checkout, package, profile)
    os.replace(tmp, target)
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


def render_report(output_dir: str | os.PathLike = "report", notebooks: list[Path] | None = None) -> Path:
    """Render the executed notebooks (default: all) to static HTML with an ``index.html``."""
    from nbconvert import HTMLExporter

    output = project_path(output_dir)
    output.mkdir(parents=True, exist_ok=True)
    exporter = HTMLExporter()
    rows = []
    for notebook in notebooks if notebooks is not None else list_notebooks():
        body, _ = exporter.from_filename(str(notebook))
        page = output / f"{notebook.stem}.html"
        page.write_text(body)
        rows.append(f'<li><a href="{page.name}">{html.escape(notebook_title(notebook))}</a>'
                    f" <code>{notebook.name}</code></li>")
    index = output / "index.html"
    index.write_text(
        "<!doctype html><html><head><meta charset='utf-8'><title>musicrec report</title></head>"
        "<body><h1>musicrec: executed notebooks</h1><ol>" + "\n".join(rows) + "</ol></body></html>"
    )
    return index
