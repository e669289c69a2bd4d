"""A tiny executed notebook set for the report tests: one notebook run by papermill (real progress bars,
a real figure, injected parameters), a copy of a committed notebook, and a headline table over the CSV
the tiny notebook writes, with one headline whose CSV is missing."""

import shutil
import textwrap

import nbformat
import pytest

from musicrec.notebooks import execute_notebook, list_notebooks

TINY_CELLS = [
    ("markdown", "# 01 · A tiny notebook (for the report's tests)\n\nIt draws **one figure** and writes one "
                 "table, with a progress bar on the way."),
    ("code", 'profile = "default"  # budget name\nfigures_dir = "figures"  # where figures go\nsteps = 3  # loop length'),
    ("code", textwrap.dedent("""\
        %matplotlib inline
        import sys
        from pathlib import Path

        import matplotlib
        import matplotlib.pyplot as plt
        import pandas as pd
        from IPython.display import Markdown, display
        from tqdm import tqdm

        for _ in tqdm(range(steps), desc="tiny progress", file=sys.stderr):
            pass
        print("counting 1\\rcounting 2\\rcounted", steps)""")),
    ("markdown", "## A figure\n\nA straight line."),
    ("code", textwrap.dedent("""\
        fig, ax = plt.subplots(figsize=(4, 3))
        ax.plot([0, 1, 2], [0, 1, 2], label="line")
        ax.set(title="A line", xlabel="x (steps)", ylabel="y")
        ax.legend()
        Path(figures_dir).mkdir(parents=True, exist_ok=True)
        fig.savefig(Path(figures_dir) / "01_line.png", dpi=60)
        table = pd.DataFrame({"agent": ["ours", "oracle"], "mean": [9.5, 10.0], "std": [0.25, 0.0], "seeds": [3, 3]})
        table.to_csv(Path(figures_dir) / "01_results.csv", index=False)
        plt.show()  # the inline backend shows it""")),
    ("code", 'display(table)\ndisplay(Markdown(f"Ours reaches **{table[\'mean\'][0]}** of the oracle\'s 10."))'),
]

HEADLINES = """
notebooks:
  "01": {key_figure: 01_line.png, data: a simulated line}
  "03": {key_figure: 03_not_there.png}
sources:
  - key: tiny-source
    title: A tiny source
    headlines:
      - label: ours against the oracle
        notebook: "01"
        format: ".2f"
        csv: 01_results.csv
        row: {agent: ours}
        source_note: the source reports none
        mean: mean
        std: std
        seeds: seeds
        bound: {column: mean, row: {agent: oracle}, label: oracle}
      - label: a table nobody wrote
        notebook: "03"
        csv: 03_missing_table.csv
        mean: mean
"""


def make_tiny_notebook(path):
    cells = [nbformat.v4.new_markdown_cell(source) if kind == "markdown" else nbformat.v4.new_code_cell(source)
             for kind, source in TINY_CELLS]
    cells[1].metadata["tags"] = ["parameters"]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


@pytest.fixture(scope="session")
def tiny_project(tmp_path_factory):
    """(notebooks, figures folder, headline file) of a three-page site, built once per session."""
    root = tmp_path_factory.mktemp("tiny-report")
    figures = root / "figures"
    (root / "source").mkdir()
    source = make_tiny_notebook(root / "source" / "01_tiny.ipynb")
    tiny = execute_notebook(source, profile="smoke", output=root / "notebooks" / "01_tiny.ipynb",
                            parameters={"figures_dir": str(figures), "steps": 5}, progress=False)
    committed = next(path for path in list_notebooks() if path.name.startswith("03_"))
    copy = root / "notebooks" / committed.name
    shutil.copy(committed, copy)
    second = root / "notebooks" / "02_plain.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# 02 · A notebook that was never executed\n\nNo outputs, no figure."),
        nbformat.v4.new_code_cell("x = 1")]), second)
    headlines = root / "headlines.yml"
    headlines.write_text(HEADLINES)
    return [tiny, second, copy], figures, headlines
