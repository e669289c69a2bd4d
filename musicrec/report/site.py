"""Build the report site: the executed notebooks as pages, and an index with the headline results.

The HTML comes from the nbconvert template ``musicrec`` in ``musicrec/report/templates/`` (it extends
JupyterLab's ``lab`` template): ``index.html.j2`` renders a notebook page, ``home.html.j2`` the index,
``layout.html.j2`` the navigation both share, and ``assets/`` holds the style sheet and the script of
the code toggle. The preprocessors named in the template's ``conf.json`` merge papermill's parameter
cell, strip progress bars and extract the figures into files.

The site is built in a temporary folder beside the output and renamed into place at the end, so an
interrupted build leaves the previous site intact; a folder that this builder did not make is never
replaced.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import nbformat

from musicrec.errors import ParameterError
from musicrec.notebooks import list_notebooks, notebook_title
from musicrec.report.headlines import HEADLINES_FILE, resolve_headlines
from musicrec.utils import project_path

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
TEMPLATE_NAME = "musicrec"
ASSETS_DIR = TEMPLATE_DIR / TEMPLATE_NAME / "assets"
MARKER = ".musicrec-report"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".svg")


@dataclass
class Page:
    """One notebook of the site, as the templates see it."""

    stem: str
    number: str
    title: str
    href: str
    summary: str
    data: str | None = None
    figure: str | None = None
    executed: str | None = None
    profile: str | None = None
    duration: str | None = None

    @property
    def short(self) -> str:
        """The title without its trailing parenthesis, for the previous/next links."""
        return re.sub(r"\s*\([^()]*\)\s*$", "", self.title)


@dataclass
class SiteBuild:
    """What :func:`build_site` made: the index, the notebook pages and what it could not read."""

    index: Path
    pages: list[Path]
    problems: list[str] = field(default_factory=list)


def summary_of(nb) -> str:
    """The first paragraph after the title of the notebook's first markdown cell (markdown)."""
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        paragraphs = [part.strip() for part in re.split(r"\n\s*\n", cell.source) if part.strip()]
        for paragraph in paragraphs:
            if not paragraph.startswith("#"):
                return paragraph
        return ""
    return ""


def run_info(nb) -> dict[str, str | None]:
    """When, with which profile and how long the notebook was executed (from papermill's metadata)."""
    papermill = nb.metadata.get("papermill", {})
    end = papermill.get("end_time")
    duration = papermill.get("duration")
    if duration is not None:
        duration = f"{duration:.0f} s" if duration < 120 else f"{duration / 60:.0f} min"
    return {"executed": end[:10] if end else None,
            "profile": (papermill.get("parameters") or {}).get("profile"),
            "duration": f"ran in {duration}" if duration else None}


def check_output_dir(output: Path) -> None:
    """Refuse to replace anything that is not a site this builder made."""
    if output.exists() and not output.is_dir():
        raise ParameterError(f"--output-dir {output} is a file, not a folder")
    if output.is_dir() and any(output.iterdir()) and not (output / MARKER).exists():
        raise ParameterError(f"--output-dir {output} exists and was not built by `musicrec notebook report`; "
                             "remove it or choose another folder")


def make_exporter():
    from nbconvert import HTMLExporter

    return HTMLExporter(template_name=TEMPLATE_NAME, extra_template_basedirs=[str(TEMPLATE_DIR)],
                        exclude_input_prompt=True, exclude_output_prompt=True)


def neighbours(pages: list[Page], position: int) -> dict[str, Any]:
    """The navigation of a notebook page: the index, the previous page (the index for the first)
    and the next one."""
    previous = pages[position - 1] if position > 0 else None
    following = pages[position + 1] if position + 1 < len(pages) else None
    index_link = {"href": "index.html", "title": "Index", "short": "Index"}
    return {
        "index": "index.html", "current": pages[position].stem, "toggle": True,
        "prev": ({"href": previous.href, "title": previous.title, "short": previous.short}
                 if previous else index_link),
        "next": ({"href": following.href, "title": following.title, "short": following.short}
                 if following else None),
    }


def build_site(
    output_dir: str | os.PathLike = "report",
    *,
    notebooks: list[Path] | None = None,
    figures_dir: str | os.PathLike = "figures",
    headlines: str | os.PathLike = HEADLINES_FILE,
) -> SiteBuild:
    """Render the executed notebooks and the headline index into ``output_dir``.

    Parameters
    ----------
    output_dir : path
        The site's folder (root-relative or absolute); replaced only if an earlier build made it.
    notebooks : list of paths, optional
        The executed notebooks, in page order (default: every numbered notebook of ``notebooks/``).
    figures_dir : path
        Where the headline CSVs and the cards' key figures are read from.
    headlines : path
        The declarative headline table (default: ``musicrec/report/headlines.yml``).

    Returns
    -------
    SiteBuild
        The index page, the notebook pages and the sentences naming every number or figure that
        could not be read (those are shown as unavailable on the page).
    """
    output = project_path(output_dir)
    figures = project_path(figures_dir)
    notebooks = [project_path(path) for path in (notebooks if notebooks is not None else list_notebooks())]
    if not notebooks:
        raise ParameterError("there are no notebooks to render")
    missing = [str(path) for path in notebooks if not path.exists()]
    if missing:
        raise ParameterError(f"notebook {missing[0]} does not exist")
    check_output_dir(output)
    table = resolve_headlines(figures, declaration=headlines)
    problems = list(table.problems)
    built = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")

    executed = [nbformat.read(path, as_version=4) for path in notebooks]
    pages = []
    for path, nb in zip(notebooks, executed):
        number = path.name[:2] if path.name[:2].isdigit() else ""
        pages.append(Page(stem=path.stem, number=number, title=notebook_title(path), href=f"{path.stem}.html",
                          summary=summary_of(nb), data=table.data.get(number), **run_info(nb)))

    output.parent.mkdir(parents=True, exist_ok=True)
    staging = output.with_name(f".{output.name}.{uuid.uuid4().hex[:8]}.building")
    staging.mkdir()
    try:
        exporter = make_exporter()
        written = []
        for position, (page, nb) in enumerate(zip(pages, executed)):
            nb.metadata["title"] = f"{page.title} · musicrec"
            site = {**neighbours(pages, position), "built": built, "data": page.data,
                    "executed": page.executed, "profile": page.profile, "duration": page.duration}
            resources = {"metadata": {"name": page.title, "path": str(notebooks[position].parent)},
                         "output_files_dir": f"{page.stem}_files", "unique_key": page.stem, "site": site}
            body, resources = exporter.from_notebook_node(nb, resources=resources)
            target = staging / page.href
            target.write_text(body, encoding="utf-8")
            written.append(output / page.href)
            extracted = resources.get("outputs", {})
            for name, content in extracted.items():
                (staging / name).parent.mkdir(parents=True, exist_ok=True)
                (staging / name).write_bytes(content)
            page.figure = key_figure(page, table.key_figures.get(page.number), figures, staging, extracted,
                                     problems)
        shutil.copytree(ASSETS_DIR, staging / "assets")
        home = exporter.environment.get_template("home.html.j2")
        site = {"index": "index.html", "current": "index", "toggle": False, "prev": None,
                "next": {"href": pages[0].href, "title": pages[0].title, "short": pages[0].short}}
        index_html = home.render(site=site, sources=table.sources, pages=pages,
                                 pages_by_number={page.number: page for page in pages if page.number},
                                 problems=problems, built=built)
        (staging / "index.html").write_text(index_html, encoding="utf-8")
        (staging / MARKER).write_text("built by `musicrec notebook report`; replaced by the next build\n")
        replace_folder(staging, output)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return SiteBuild(index=output / "index.html", pages=written, problems=problems)


def key_figure(page: Page, declared: str | None, figures: Path, staging: Path, extracted: dict[str, bytes],
               problems: list[str]) -> str | None:
    """The card's figure: the declared PNG of ``figures/`` if it exists, else the page's first figure."""
    if declared:
        source = figures / declared
        if source.exists():
            (staging / "figures").mkdir(exist_ok=True)
            shutil.copy2(source, staging / "figures" / declared)
            return f"figures/{declared}"
        problems.append(f"notebook {page.number}: key figure figures/{declared} is missing; "
                        "the card shows the notebook's first figure")
    images = [name for name in extracted if name.lower().endswith(IMAGE_SUFFIXES)]
    return images[0] if images else None


def replace_folder(new: Path, old: Path) -> None:
    """Put ``new`` where ``old`` is, with one rename each (the old site is removed afterwards)."""
    trash = None
    if old.exists():
        trash = old.with_name(f".{old.name}.{uuid.uuid4().hex[:8]}.old")
        os.replace(old, trash)
    os.replace(new, old)
    if trash is not None:
        shutil.rmtree(trash, ignore_errors=True)
