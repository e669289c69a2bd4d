"""The report's notebook clean-up: one parameter cell with this run's values, no progress-bar noise."""

import nbformat

from musicrec.report.preprocessors import (
    MergeParametersPreprocessor,
    StripNoisePreprocessor,
    last_frame,
    merge_parameters,
)


def test_injected_values_replace_the_defaults_and_keep_the_comments():
    defaults = ('profile = "default"      # smoke | default | full\n'
                'seeds = None             # list of seeds\n'
                'lam = [1,\n       2]  # λ values')
    injected = '# Parameters\nprofile = "smoke"\nlam = [10]\nfigures_dir = "out/x"\n'
    assert merge_parameters(defaults, injected).splitlines() == [
        'profile = "smoke"      # smoke | default | full',
        "seeds = None             # list of seeds",
        "lam = [10]  # λ values",
        'figures_dir = "out/x"  # set for this run',
    ]
    assert merge_parameters(defaults, "# Parameters\n") == defaults


def _cell(source, tags=(), outputs=()):
    cell = nbformat.v4.new_code_cell(source, outputs=list(outputs))
    cell.metadata["tags"] = list(tags)
    return cell


def test_the_injected_cell_is_merged_into_the_parameters_cell_and_dropped():
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# Title"),
        _cell('profile = "default"  # budget', ["parameters"]),
        _cell('# Parameters\nprofile = "smoke"\n', ["injected-parameters"]),
        _cell("print(profile)"),
    ])
    nb, _ = MergeParametersPreprocessor().preprocess(nb, {})
    assert [cell.source for cell in nb.cells] == ["# Title", 'profile = "smoke"  # budget', "print(profile)"]
    assert "parameters" in nb.cells[1].metadata["tags"]
    assert not any("injected-parameters" in cell.metadata.get("tags", []) for cell in nb.cells)


def test_without_a_defaults_cell_the_injected_cell_stays_as_the_only_parameter_cell():
    nb = nbformat.v4.new_notebook(cells=[_cell('# Parameters\nx = 1\n', ["injected-parameters"]), _cell("x")])
    nb, _ = MergeParametersPreprocessor().preprocess(nb, {})
    assert nb.cells[0].source == "x = 1\n" and "parameters" in nb.cells[0].metadata["tags"]


def test_stderr_widgets_and_progress_frames_are_stripped():
    outputs = [
        nbformat.v4.new_output("stream", name="stderr", text="runs:  50%|#####     | 1/2 [00:01<00:01, 1.2it/s]"),
        nbformat.v4.new_output("stream", name="stdout", text="epoch 1\repoch 2\rdone\nresult: 3\n"),
        nbformat.v4.new_output("display_data", data={"application/vnd.jupyter.widget-view+json": {"model_id": "x"},
                                                     "text/plain": "HBox(children=...)"}),
        nbformat.v4.new_output("stream", name="stdout", text="\r\r"),
        nbformat.v4.new_output("display_data", data={"text/plain": "a table"}),
    ]
    nb = nbformat.v4.new_notebook(cells=[_cell("run()", outputs=outputs)])
    nb, _ = StripNoisePreprocessor().preprocess(nb, {})
    kept = nb.cells[0].outputs
    assert [output.get("text", output.get("data", {}).get("text/plain")) for output in kept] == [
        "done\nresult: 3\n", "a table"]
    assert last_frame("a\rb\nc") == "b\nc"
