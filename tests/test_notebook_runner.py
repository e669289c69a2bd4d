import json

import nbformat
import pytest

from musicrec.errors import ParameterError
from musicrec.notebooks import NotebookFailed, execute_notebook, notebook_title


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


def test_bad_profile_and_missing_notebook(tmp_path):
    with pytest.raises(ParameterError, match="profile='huge'"):
        execute_notebook(tmp_path / "x.ipynb", profile="huge")
    with pytest.raises(ParameterError, match="does not exist"):
        execute_notebook(tmp_path / "x.ipynb", profile="smoke")
