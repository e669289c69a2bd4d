"""Executing the numbered notebooks with papermill, and rendering them to HTML.

``make reproduce`` executes each notebook *in place*: papermill writes to a temporary file next to
it, which replaces the notebook only when every cell ran. A failing notebook leaves the committed
one untouched, keeps the failed copy under ``runs/failed-notebooks/`` and reports the notebook and
the cell that failed.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import uuid
from pathlib import Path
from typing import Any

from musicrec.errors import ParameterError, check_choice
from musicrec.profiles import PROFILES
from musicrec.utils import DEVICES, PROJECT_ROOT, project_path

NOTEBOOK_DIR = PROJECT_ROOT / "notebooks"
FAILED_DIR = PROJECT_ROOT / "runs" / "failed-notebooks"
NOTEBOOK_PATTERN = re.compile(r"^\d\d_.+\.ipynb$")


class NotebookFailed(RuntimeError):
    """A notebook raised an error in one of its cells."""


def list_notebooks(folder: str | os.PathLike = NOTEBOOK_DIR) -> list[Path]:
    """The numbered notebooks (``NN_name.ipynb``) of ``folder``, in order."""
    folder = project_path(folder)
    return sorted(path for path in folder.glob("*.ipynb") if NOTEBOOK_PATTERN.match(path.name))


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
        Where to write the executed notebook; ``None`` means in place.
    parameters : dict, optional
        Further parameters (e.g. ``figures_dir`` and ``runs_dir`` for a test run).
    """
    import papermill

    check_choice("profile", profile, PROFILES)
    check_choice("device", device, DEVICES)
    source = project_path(notebook)
    if not source.exists():
        raise ParameterError(f"notebook {notebook} does not exist")
    target = project_path(output) if output is not None else source
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.stem}.{uuid.uuid4().hex[:8]}.running.ipynb")
    params = {"profile": profile, "device": device, **(parameters or {})}
    try:
        papermill.execute_notebook(
            str(source),
            str(tmp),
            parameters=params,
            cwd=str(source.parent),
            kernel_name="python3",
            progress_bar=progress,
            request_save_on_cell_execute=False,
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
    _relative_papermill_paths(tmp, source, target)
    os.replace(tmp, target)
    return target


def _relative_papermill_paths(executed: Path, source: Path, target: Path) -> None:
    """Record the input and output paths relative to the project root, not as machine paths."""
    import nbformat

    notebook = nbformat.read(executed, as_version=4)
    meta = notebook.metadata.get("papermill", {})
    for key, path in (("input_path", source), ("output_path", target)):
        try:
            meta[key] = str(path.relative_to(PROJECT_ROOT))
        except ValueError:  # outside the project (a test's temporary folder)
            meta[key] = path.name
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
