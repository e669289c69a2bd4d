"""nbconvert preprocessors that turn an executed notebook into a page a reader enjoys.

* :class:`StripNoisePreprocessor` drops what the reader does not need: progress bars and warnings
  (stderr streams, tqdm widgets) and the carriage-return frames of a progress line on stdout.
* :class:`MergeParametersPreprocessor` merges papermill's injected-parameters cell into the notebook's
  ``parameters`` cell, so the page shows one parameter cell with the values of this run and the
  comment of each parameter.
"""

from __future__ import annotations

import ast
import re

from nbconvert.preprocessors import Preprocessor

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
PARAMETERS_TAG = "parameters"
INJECTED_TAG = "injected-parameters"
MERGED_TAG = "merged-parameters"


def last_frame(text: str) -> str:
    """What a terminal shows of ``text``: on each line only what follows its last carriage return.

    >>> last_frame("10%\\r50%\\r100%\\ndone\\n")
    '100%\\ndone\\n'
    """
    return "\n".join(line.rsplit("\r", 1)[-1] for line in text.split("\n"))


class StripNoisePreprocessor(Preprocessor):
    """Remove stderr streams and widget outputs; keep the last frame of each stdout line."""

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        kept = []
        for output in cell.get("outputs", []):
            if output.output_type == "stream":
                if output.name == "stderr":
                    continue
                output.text = last_frame(output.text)
                if not output.text.strip():
                    continue
            elif WIDGET_MIME in output.get("data", {}):
                continue
            kept.append(output)
        cell.outputs = kept
        return cell, resources


def assignments(source: str) -> dict[str, tuple[int, int, int, int]]:
    """The single-name top-level assignments of ``source``: name -> (line, column, end line, end column)
    of the assigned value (lines 1-based, columns in characters)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return {}
    lines = source.splitlines()

    def column(line: int, byte_offset: int) -> int:  # ast counts UTF-8 bytes; strings count characters
        return len(lines[line - 1].encode()[:byte_offset].decode(errors="ignore"))

    found = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            value = node.value
            found[node.targets[0].id] = (value.lineno, column(value.lineno, value.col_offset),
                                         value.end_lineno, column(value.end_lineno, value.end_col_offset))
    return found


def value_text(source: str, span: tuple[int, int, int, int]) -> str:
    lines = source.splitlines()
    line, col, end_line, end_col = span
    if line == end_line:
        return lines[line - 1][col:end_col]
    return "\n".join([lines[line - 1][col:], *lines[line:end_line - 1], lines[end_line - 1][:end_col]])


def merge_parameters(parameters: str, injected: str) -> str:
    """The ``parameters`` cell's source with each value replaced by the injected one (comments kept).

    A parameter the injected cell sets but the parameters cell lacks is appended; when either cell is
    not plain Python assignments, the injected assignments are appended below the defaults.

    >>> merge_parameters('profile = "default"  # budget\\nseed = 0  # seed', '# Parameters\\nprofile = "smoke"\\n')
    'profile = "smoke"  # budget\\nseed = 0  # seed'
    """
    defaults = assignments(parameters)
    injected_values = assignments(injected)
    if not injected_values:
        return parameters
    lines = parameters.splitlines()
    extra = []
    # Replace from the last line up, so earlier spans stay valid.
    for name, span in sorted(defaults.items(), key=lambda item: item[1], reverse=True):
        if name not in injected_values:
            continue
        new = value_text(injected, injected_values[name])
        line, col, end_line, end_col = span
        if value_text(parameters, span) == new:
            continue
        merged = lines[line - 1][:col] + new + lines[end_line - 1][end_col:]
        lines[line - 1:end_line] = merged.splitlines() or [""]
    for name, span in injected_values.items():
        if name not in defaults:
            extra.append(f"{name} = {value_text(injected, span)}  # set for this run")
    return "\n".join(lines + extra)


class MergeParametersPreprocessor(Preprocessor):
    """Fold papermill's ``injected-parameters`` cell into the ``parameters`` cell and drop it."""

    def preprocess(self, nb, resources):
        tags = [set(cell.metadata.get("tags", [])) for cell in nb.cells]
        injected = [i for i, cell_tags in enumerate(tags) if INJECTED_TAG in cell_tags]
        defaults = [i for i, cell_tags in enumerate(tags) if PARAMETERS_TAG in cell_tags]
        if not injected:
            return nb, resources
        if defaults:
            target = nb.cells[defaults[0]]
            for i in injected:
                target.source = merge_parameters(target.source, nb.cells[i].source)
            nb.cells = [cell for i, cell in enumerate(nb.cells) if i not in injected]
        else:  # no defaults cell: the injected one is the only parameter cell
            target = nb.cells[injected[0]]
            target.source = re.sub(r"^# Parameters\n", "", target.source)
            nb.cells = [cell for i, cell in enumerate(nb.cells) if i not in injected[1:]]
        target.metadata["tags"] = sorted(set(target.metadata.get("tags", [])) - {INJECTED_TAG}
                                         | {PARAMETERS_TAG, MERGED_TAG})
        return nb, resources
