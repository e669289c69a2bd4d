"""Every numbered notebook runs end to end with the smoke profile, and the committed copies are the
executed default-profile report."""

import json

import pytest

from musicrec.notebooks import execute_notebook, list_notebooks
from musicrec.utils import PROJECT_ROOT

NOTEBOOKS = list_notebooks()
# Extra papermill parameters a notebook needs in its smoke run (beyond profile and output folders).
SMOKE_PARAMETERS: dict[str, dict] = {}


@pytest.fixture(scope="session")
def smoke_dir(tmp_path_factory):
    # One folder for the whole session, so a notebook can reuse runs an earlier notebook made.
    return tmp_path_factory.mktemp("smoke")


@pytest.mark.notebook
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_with_smoke_profile(notebook, smoke_dir):
    figures = smoke_dir / "figures"
    parameters = {"figures_dir": str(figures), "runs_dir": str(smoke_dir / "runs"),
                  **SMOKE_PARAMETERS.get(notebook.stem, {})}
    executed = execute_notebook(notebook, profile="smoke", output=smoke_dir / notebook.name,
                                parameters=parameters, progress=False)
    prefix = notebook.name[:2]
    assert list(figures.glob(f"{prefix}_*.png")), f"{notebook.name} saved no figure"
    cells = json.loads(executed.read_text())["cells"]
    assert not [o for c in cells for o in c.get("outputs", []) if o.get("output_type") == "error"]


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_notebook_is_the_executed_default_report(notebook):
    nb = json.loads(notebook.read_text())
    tagged = [c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, "exactly one cell tagged 'parameters'"
    assert "profile" in "".join(tagged[0]["source"])
    papermill = nb["metadata"].get("papermill")
    assert papermill, "not executed by papermill: run `make reproduce`"
    assert papermill["parameters"]["profile"] == "default"
    errors = [o for c in nb["cells"] for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, f"error output in the committed notebook: {errors[0].get('ename')}"
    text = notebook.read_text()
    for machine_path in (str(PROJECT_ROOT), "site-packages", ".running.ipynb"):
        assert machine_path not in text, f"machine path {machine_path!r} in the committed notebook"
    code = [c for c in nb["cells"] if c["cell_type"] == "code" and "".join(c["source"]).strip()]
    assert all(c.get("execution_count") for c in code), "a code cell was not executed"
