"""The report site's files: pages, index, navigation, folded code, no noise, nothing from the network.
(What a browser makes of them is tested in test_site_browser.py.)"""

import json
import re

import pytest
from bs4 import BeautifulSoup

from musicrec.cli import main
from musicrec.errors import ParameterError
from musicrec.report import build_site
from musicrec.report.site import MARKER


def soup(path):
    return BeautifulSoup(path.read_text(), "html.parser")


def nav_links(page):
    top = page.select_one("nav.mr-nav-top")
    return {rel: (link["href"] if (link := top.select_one(f"a.mr-{rel}")) else None) for rel in ("home", "prev", "next")}


@pytest.fixture(scope="module")
def site(tiny_project, tmp_path_factory):
    notebooks, figures, headlines = tiny_project
    output = tmp_path_factory.mktemp("site") / "report"
    return build_site(output, notebooks=notebooks, figures_dir=figures, headlines=headlines)


def test_index_shows_headlines_from_the_csv_and_names_what_is_missing(site):
    index = site.index.read_text()
    assert [page.name for page in site.pages] == ["01_tiny.html", "02_plain.html", "03_grid_reward_functions.html"]
    assert re.search(r"9\.50</span> &plusmn; <span class=\"mr-num\">0\.25", index)
    assert "3 seeds" in index and "10.00" in index and "the source reports none" in index
    assert "simulated data" in index and 'title="a simulated line"' in index
    assert 'class="mr-unavailable" title="figures/03_missing_table.csv is missing"' in index
    assert any("03_missing_table.csv is missing" in problem for problem in site.problems)
    assert any("key figure figures/03_not_there.png is missing" in problem for problem in site.problems)
    # cards: the declared key figure, else the notebook's first figure, else none
    assert 'src="figures/01_line.png"' in index and (site.index.parent / "figures" / "01_line.png").exists()
    assert 'src="03_grid_reward_functions_files/' in index and "no figure" in index


def test_pages_have_navigation_folded_code_and_one_parameter_cell(site):
    assert [nav_links(soup(page)) for page in site.pages] == [
        {"home": "index.html", "prev": "index.html", "next": "02_plain.html"},
        {"home": "index.html", "prev": "01_tiny.html", "next": "03_grid_reward_functions.html"},
        {"home": "index.html", "prev": "02_plain.html", "next": None},
    ]
    assert len(soup(site.pages[1]).select("nav.mr-nav")) == 2, "navigation above and below"
    page = soup(site.pages[0])
    folded = page.select("details.mr-code")
    assert len(folded) == 4 and page.select("img[src^='01_tiny_files/']") and not any(block.has_attr("open") for block in folded)
    parameters = page.select("details.mr-parameters")
    assert len(parameters) == 1 and not page.select(".celltag_injected-parameters")
    code = parameters[0].get_text()
    assert re.search(r"steps = 5\s+# loop length", code), "the run's value with the parameter's comment"
    assert "# Parameters" not in page.get_text()
    assert page.select_one("#mr-code-toggle") is not None


def test_progress_bars_are_gone_and_the_last_frame_of_a_line_stays(site, tiny_project):
    executed = json.loads(tiny_project[0][0].read_text())
    streams = [o for cell in executed["cells"] for o in cell.get("outputs", []) if o["output_type"] == "stream"]
    assert any(o["name"] == "stderr" and "it/s" in "".join(o["text"]) for o in streams), "the run had a bar"
    outputs = " ".join(area.get_text() for area in soup(site.pages[0]).select(".jp-OutputArea"))
    assert "it/s" not in outputs and "tiny progress" not in outputs
    assert "counted 5" in outputs and "counting" not in outputs and "\r" not in outputs


def test_nothing_is_loaded_from_the_network(site):
    for path in [site.index, *site.pages]:
        text = path.read_text()
        assert not re.search(r"<(script|link|img)[^>]+(src|href)=\"(https?:)?//", text), path.name
        assert re.findall(r"<script[^>]* src=\"([^\"]+)\"", text) in ([], ["assets/site.js"])


def test_rebuild_replaces_its_own_site_but_never_a_foreign_folder(tiny_project, tmp_path):
    notebooks, figures, headlines = tiny_project
    output = tmp_path / "report"
    build_site(output, notebooks=notebooks[1:2], figures_dir=figures, headlines=headlines)
    (output / "stale.html").write_text("old")
    build_site(output, notebooks=notebooks[1:2], figures_dir=figures, headlines=headlines)
    assert (output / MARKER).exists() and not (output / "stale.html").exists()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["report"], "no staging folder left behind"
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    with pytest.raises(ParameterError, match="was not built by `musicrec notebook report`"):
        build_site(foreign, notebooks=notebooks[1:2], figures_dir=figures, headlines=headlines)
    assert (foreign / "notes.txt").read_text() == "keep me"
    with pytest.raises(ParameterError, match="does not exist"):
        build_site(tmp_path / "x", notebooks=[tmp_path / "none.ipynb"], figures_dir=figures)


def test_cli_builds_the_site_and_names_unreadable_numbers(tiny_project, tmp_path, capsys):
    notebooks, figures, _ = tiny_project
    output = tmp_path / "site"
    assert main(["notebook", "report", str(notebooks[1]), "--output-dir", str(output),
                 "--figures-dir", str(figures)]) == 0
    captured = capsys.readouterr()
    assert (output / "index.html").exists() and "1 notebook pages" in captured.out
    # the committed headline table against a figures folder without its CSVs: named, shown unavailable
    assert re.search(r"musicrec: report: headline .*figures/\S+\.csv is missing; shown as unavailable", captured.err)
