"""Each notebook is paired with a jupytext percent-format .py of the same cells, and an in-place run keeps
the pair in sync: an edited .py is what runs, and the executed notebook writes its .py afresh."""

import os

import jupytext
import nbformat
import pytest

from musicrec.cli import main
from musicrec.notebooks import (
    execute_notebook,
    list_notebooks,
    notebook_as_text,
    pair_difference,
    sync_pair,
    text_pair,
)


@pytest.mark.parametrize("notebook", list_notebooks(), ids=lambda p: p.stem)
def test_each_committed_notebook_matches_its_py(notebook):
    difference = pair_difference(notebook)
    assert difference is None, f"{difference}: run `make sync` (see README, 'Editing a notebook')"
    text = text_pair(notebook).read_text()
    assert text.startswith("# ---\n# jupyter:\n") and "# %% tags=[\"parameters\"]" in text
    assert "papermill" not in text and "execution_count" not in text, "only cells, tags and the kernel"


def _notebook(path):
    params = nbformat.v4.new_code_cell('profile = "default"  # budget\ndevice = "cpu"  # device')
    params.metadata["tags"] = ["parameters"]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# 01 · A pair"), params,
                                         nbformat.v4.new_code_cell("print('first version', profile)")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


def _later(path):
    """Mark ``path`` as modified after its partner (file systems may share a timestamp within a test)."""
    stamp = path.stat().st_mtime + 5
    os.utime(path, (stamp, stamp))


def test_an_edited_py_is_what_runs_and_the_run_rewrites_the_py(tmp_path):
    notebook = _notebook(tmp_path / "01_pair.ipynb")
    assert sync_pair(notebook) == "01_pair.py: written from 01_pair.ipynb"
    text = text_pair(notebook)
    text.write_text(text.read_text().replace("first version", "edited in the py"))
    _later(text)
    assert "differs" in pair_difference(notebook)
    execute_notebook(notebook, profile="smoke", progress=False, paired=True)
    executed = nbformat.read(notebook, as_version=4)
    outputs = "".join(o.get("text", "") for cell in executed.cells for o in cell.get("outputs", []))
    assert "edited in the py smoke" in outputs
    assert pair_difference(notebook) is None and text.read_text() == notebook_as_text(notebook)
    assert "injected-parameters" in text.read_text(), "the .py holds what the notebook holds"
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")], "no temporary file left"


def test_sync_takes_the_newer_side_or_the_named_one_and_keeps_unchanged_outputs(tmp_path):
    notebook = _notebook(tmp_path / "02_pair.ipynb")
    nb = nbformat.read(notebook, as_version=4)
    nb.cells[2].outputs = [nbformat.v4.new_output("stream", name="stdout", text="kept output\n")]
    nb.cells.append(nbformat.v4.new_code_cell("x = 2"))
    nbformat.write(nb, notebook)
    sync_pair(notebook, source="ipynb")
    text = text_pair(notebook)
    text.write_text(text.read_text().replace("x = 2", "x = 3"))
    _later(text)
    assert sync_pair(notebook).startswith("02_pair.ipynb: cells updated from 02_pair.py")
    updated = nbformat.read(notebook, as_version=4)
    assert updated.cells[3].source == "x = 3" and updated.cells[2].outputs[0]["text"] == "kept output\n"
    # the notebook edited last wins; --from names a side
    nb = nbformat.read(notebook, as_version=4)
    nb.cells[3].source = "x = 4"
    nbformat.write(nb, notebook)
    _later(notebook)
    assert sync_pair(notebook) == "02_pair.py: written from 02_pair.ipynb"
    assert "x = 4" in text.read_text() and jupytext.read(text).cells[3].source == "x = 4"
    assert sync_pair(notebook) == "02_pair.ipynb: in sync"


def test_sync_check_names_the_cell_that_differs(tmp_path, capsys):
    notebook = _notebook(tmp_path / "03_pair.ipynb")
    assert main(["notebook", "sync", "--check", str(notebook)]) == 1
    assert "03_pair.py is missing" in capsys.readouterr().out
    assert main(["notebook", "sync", str(notebook)]) == 0
    text = text_pair(notebook)
    text.write_text(text.read_text().replace("first version", "changed"))
    assert main(["notebook", "sync", "--check", str(notebook)]) == 1
    assert "cell 2 (code, \"print('first version', profile)\") differs" in capsys.readouterr().out
    assert main(["notebook", "sync", "--from", "py", str(text)]) == 0  # named by its .py: the same pair
    assert main(["notebook", "sync", "--check", str(notebook)]) == 0
    assert main(["notebook", "sync", str(tmp_path / "03_pair.txt")]) == 2
    assert "neither a .ipynb notebook nor its paired .py" in capsys.readouterr().err
