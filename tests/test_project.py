"""The front door: pinned requirements, the conda file, the Makefile targets, README and CI."""

import re
import subprocess
from pathlib import Path

import yaml

from musicrec.utils import PROJECT_ROOT


def _requirements():
    lines = (PROJECT_ROOT / "requirements.txt").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def test_requirements_are_exact_pins_with_cpu_torch():
    requirements = _requirements()
    assert requirements and all(re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[0-9][^\s;]*", r) for r in requirements), \
        [r for r in requirements if "==" not in r]
    assert "torch==2.13.0" in requirements


def test_environment_yml_points_at_the_same_pins():
    env = yaml.safe_load((PROJECT_ROOT / "environment.yml").read_text())
    assert "python=3.11" in env["dependencies"]
    pip = next(item["pip"] for item in env["dependencies"] if isinstance(item, dict) and "pip" in item)
    assert pip == ["-r requirements.txt"]


def test_makefile_has_the_documented_targets():
    text = (PROJECT_ROOT / "Makefile").read_text()
    for target in ("setup", "reproduce", "test", "lab", "report", "clean"):
        assert re.search(rf"^{target}:", text, re.M), target
    result = subprocess.run(["make", "-n", "reproduce"], cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_readme_shows_the_two_commands_and_ci_runs_the_tests():
    readme = (PROJECT_ROOT / "README.md").read_text()
    assert "make reproduce" in readme and "make test" in readme
    assert "make test" in (PROJECT_ROOT / ".ci" / "run").read_text()


def test_no_tracked_file_reads_or_names_a_folder_outside_the_project():
    # The compendium must stand alone: a fresh clone with nothing beside it passes its tests and reads well.
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=PROJECT_ROOT, capture_output=True, check=True).stdout
    outside = "../" + "shared"  # split so that this file does not name it
    offenders = []
    for name in tracked.decode().split("\0"):
        path = PROJECT_ROOT / name
        if not name or not path.is_file() or path.suffix in {".npz", ".wav", ".png", ".pt", ".zip"}:
            continue
        text = path.read_text(errors="ignore")
        if outside in text or ('parent / "' + 'shared"') in text:
            offenders.append(name)
    assert not offenders, offenders


def test_every_key_cited_in_the_readme_is_in_references_bib():
    bib = (PROJECT_ROOT / "references.bib").read_text()
    keys = set(re.findall(r"^@\w+\{([^,]+),", bib, re.M))
    readme = (PROJECT_ROOT / "README.md").read_text()
    cited = set(re.findall(r"\*\*\[([a-z0-9-]+)\]\*\*", readme))
    assert cited and cited <= keys, cited - keys
    assert yaml.safe_load((PROJECT_ROOT / "CITATION.cff").read_text())["cff-version"]


def _package_imports(lazy: bool) -> dict[str, set[str]]:
    """Module -> the musicrec modules it imports (at the top, or anywhere when ``lazy``)."""
    import ast

    modules = {}
    for path in (PROJECT_ROOT / "musicrec").rglob("*.py"):
        name = ".".join(path.relative_to(PROJECT_ROOT).with_suffix("").parts)
        modules[name.removesuffix(".__init__")] = path
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        tree = ast.parse(path.read_text())
        for node in (ast.walk(tree) if lazy else tree.body):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("musicrec"):
                for alias in node.names:
                    target = f"{node.module}.{alias.name}"
                    graph[name].add(target if target in modules else node.module)
            elif isinstance(node, ast.Import):
                graph[name].update(a.name for a in node.names if a.name.startswith("musicrec."))
    return graph


def _a_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            # a package's __init__ importing its own modules is not a circle between modules
            if target == node or node.startswith(target + "."):
                continue
            if state.get(target) == 1:
                return stack[stack.index(target):] + [target]
            if target not in state and (found := visit(target)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_package_import_graph_has_no_circle():
    # also counting imports inside functions: a lazy import hides a circle, it does not remove it
    assert _a_cycle(_package_imports(lazy=True)) is None, " -> ".join(_a_cycle(_package_imports(lazy=True)))
    assert _a_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


#: The floors below the studies: none of them may import a study (arrows point one way).
LOWER_FLOORS = ("musicrec.users", "musicrec.data", "musicrec.envs", "musicrec.agents", "musicrec.models",
                "musicrec.features", "musicrec.system", "musicrec.offline")


def test_no_lower_floor_imports_a_study():
    graph = _package_imports(lazy=True)
    upward = sorted(f"{module} -> {target}" for module, targets in graph.items()
                    if module.startswith(LOWER_FLOORS) for target in targets
                    if target.startswith("musicrec.experiments"))
    assert not upward, upward


def _private_uses(path: Path) -> list[str]:
    """Private names (one leading underscore) of musicrec modules that ``path`` imports or reads as attributes."""
    import ast

    tree = ast.parse(path.read_text())
    aliases, uses = {}, []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("musicrec"):
            for alias in node.names:
                if alias.name.startswith("_") and not alias.name.startswith("__"):
                    uses.append(f"{node.lineno}: {node.module}.{alias.name}")
                aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        elif isinstance(node, ast.Import):
            aliases.update({a.asname or a.name: a.name for a in node.names if a.name.startswith("musicrec")})
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")
                and isinstance(node.value, ast.Name) and node.value.id in aliases):
            uses.append(f"{node.lineno}: {aliases[node.value.id]}.{node.attr}")
    return uses


def test_no_private_name_is_used_outside_its_module():
    found = {str(path.relative_to(PROJECT_ROOT)): uses
             for folder in ("musicrec", "notebooks", "benchmarks", "tests")
             for path in sorted((PROJECT_ROOT / folder).rglob("*.py")) if (uses := _private_uses(path))}
    assert not found, found


def test_every_benchmark_script_prints_its_help():
    import sys

    for script in sorted((PROJECT_ROOT / "benchmarks").glob("*.py")):
        done = subprocess.run([sys.executable, str(script), "--help"], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0 and "usage" in done.stdout, (script.name, done.stderr[-500:])
