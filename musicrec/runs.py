"""A folder per run: ``<runs_dir>/<kind>/<name>-<config hash>/`` with ``config.yml`` and ``metrics.csv``.

``metrics.csv`` holds only what the config determines, so two runs of the same config write it byte
for byte the same; wall and CPU times go to ``timings.csv`` beside it (:func:`write_metrics`), and the
run's own start and wall time to ``run.yml``.

A run is *finished* when its folder exists under its final name: work happens in a temporary sibling
folder that is renamed into place only after the work returned and ``metrics.csv`` was written, so an
interrupted run never leaves a folder that looks finished. A finished run whose config is unchanged
is reused; a changed config hashes to a new folder, so only what changed is retrained.

>>> run = Run("runs", "qtable", {"user": "pop_lover", "seed": 0}, name="pop_lover-seed0")
>>> run.path.name.startswith("pop_lover-seed0-")
True
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import platform
import re
import shutil
import sys
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from musicrec import __version__
from musicrec.errors import ParameterError
from musicrec.utils import project_path

CONFIG_FILE = "config.yml"
METRICS_FILE = "metrics.csv"
TIMINGS_FILE = "timings.csv"
RUN_INFO_FILE = "run.yml"
DIGEST_CACHE_FILE = "file-digests.json"


def _plain(value: Any) -> Any:
    """Turn numpy scalars, tuples and paths into plain YAML/JSON types."""
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item") and callable(value.item):  # numpy scalar
        return value.item()
    return value


def config_hash(config: Mapping[str, Any]) -> str:
    """Short, stable hash of a config (key order does not matter)."""
    text = json.dumps(_plain(config), sort_keys=True)
    return hashlib.sha1(text.encode()).hexdigest()[:10]


def _slug(text: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9_.=+-]+", "_", text).strip("_")
    return slug[:80] or "run"


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        tmp.write_text(text)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_csv_atomic(frame: pd.DataFrame, path: Path, *, index: bool = False) -> Path:
    """Write a DataFrame as CSV through a temporary file and a rename."""
    write_text_atomic(path, frame.to_csv(index=index))
    return Path(path)


def write_metrics(frame: pd.DataFrame, folder: str | os.PathLike, *, timings: Sequence[str] = (),
                  keys: Sequence[str] = ()) -> Path:
    """Write a run's ``metrics.csv`` without the ``timings`` columns, and those to ``timings.csv``.

    Times differ from one run to the next even when every value is the same, so they are kept out of
    the metrics: two runs of one config then write byte-identical ``metrics.csv`` files.

    Parameters
    ----------
    frame : pd.DataFrame
        One row per logged step, episode or item.
    folder : path
        The run's (temporary) folder.
    timings : sequence of str
        Columns of ``frame`` that hold times (wall seconds, CPU seconds, load averages); each must exist.
    keys : sequence of str
        Columns repeated in ``timings.csv`` so its rows can be read on their own (e.g. ``episode``);
        the rows of both files are in the same order either way.

    Returns
    -------
    Path
        The ``metrics.csv`` written.
    """
    folder = Path(folder)
    missing = [c for c in [*timings, *keys] if c not in frame.columns]
    if missing:
        raise ParameterError(f"write_metrics: column(s) {missing} are not in the table "
                             f"(it has {list(frame.columns)})")
    timings, keys = list(timings), [k for k in keys if k not in timings]
    write_csv_atomic(frame.drop(columns=timings), folder / METRICS_FILE)
    if timings:
        write_csv_atomic(frame[keys + timings], folder / TIMINGS_FILE)
    return folder / METRICS_FILE


def write_timings(frame: pd.DataFrame, folder: str | os.PathLike) -> Path:
    """Write a run's ``timings.csv`` directly (times of the run as a whole rather than per row)."""
    return write_csv_atomic(frame, Path(folder) / TIMINGS_FILE)


def _existing_file(path: str | os.PathLike) -> Path:
    resolved = Path(path).expanduser().resolve()
    if not resolved.is_file():
        raise ParameterError(f"{resolved} is not a file" if resolved.exists() else f"{resolved} does not exist")
    return resolved


def _read_digest_cache(cache: Path | None) -> dict[str, Any]:
    if cache is None:
        return {}
    try:
        known = json.loads(cache.read_text())
    except (OSError, ValueError):  # missing or damaged: it is only a shortcut
        return {}
    return known if isinstance(known, dict) else {}


def _cached_digest(path: Path, known: dict[str, Any], chunk_bytes: int) -> tuple[str, bool]:
    """``(digest, computed)``: from ``known`` if size and mtime match, else read in chunks."""
    stat = path.stat()
    stamp = [stat.st_size, stat.st_mtime_ns]
    entry = known.get(str(path))
    if isinstance(entry, list) and len(entry) == 3 and entry[:2] == stamp:
        return str(entry[2]), False
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(chunk_bytes), b""):
            digest.update(chunk)
    known[str(path)] = [*stamp, digest.hexdigest()]
    return digest.hexdigest(), True


def file_digest(path: str | os.PathLike, *, cache: str | os.PathLike | None = None,
                chunk_bytes: int = 1 << 20) -> str:
    """SHA-256 of a file's content, read in chunks (a run keyed by it notices any changed byte).

    Parameters
    ----------
    path : path
        The file.
    cache : path, optional
        A JSON file remembering digests by (path, size, modification time in ns), so a file whose size
        and mtime are unchanged is not read again. It is only a shortcut to the hash: a file rewritten
        with the same size *and* the same mtime in nanoseconds would keep its old digest.
    chunk_bytes : int
        Read size; memory stays at one chunk whatever the file's size.
    """
    cache_path = None if cache is None else Path(cache).expanduser()
    known = _read_digest_cache(cache_path)
    value, computed = _cached_digest(_existing_file(path), known, chunk_bytes)
    if cache_path is not None and computed:
        write_text_atomic(cache_path, json.dumps(known, sort_keys=True, indent=0))
    return value


def files_digest(paths: Sequence[str | os.PathLike], *, root: str | os.PathLike | None = None,
                 cache: str | os.PathLike | None = None, chunk_bytes: int = 1 << 20) -> str:
    """One SHA-256 over many files: each file's name (relative to ``root``) and content digest.

    A renamed, added, removed or changed file gives another digest; the order of ``paths`` does not
    matter. ``cache`` is as for :func:`file_digest` (read once, written once if anything was hashed).
    """
    cache_path = None if cache is None else Path(cache).expanduser()
    known = _read_digest_cache(cache_path)
    root = None if root is None else Path(root).expanduser().resolve()
    files = [_existing_file(path) for path in paths]
    entries, computed = [], False
    for resolved in files:
        value, fresh = _cached_digest(resolved, known, chunk_bytes)
        computed |= fresh
        name = resolved.relative_to(root).as_posix() if root is not None else resolved.name
        entries.append((name, value))
    if cache_path is not None and computed:
        write_text_atomic(cache_path, json.dumps(known, sort_keys=True, indent=0))
    listing = "".join(f"{name}\t{value}\n" for name, value in sorted(entries))
    return hashlib.sha256(listing.encode()).hexdigest()


def machine_description() -> dict[str, str]:
    """The CPU a run ran on and, where torch is loaded, the instruction set of its kernels: results are
    bit-reproducible on the same CPU and kernels only (run.yml records both)."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as info:
            for line in info:
                if line.lower().startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:  # not Linux: platform's name is what there is
        pass
    described = {"cpu": cpu, "cpus": str(os.cpu_count())}
    torch = sys.modules.get("torch")
    if torch is not None:
        try:
            described["torch_cpu_capability"] = str(torch.backends.cpu.get_cpu_capability())
        except AttributeError:  # an old torch
            pass
    return described


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Run:
    """One experiment run, identified by its kind and its config.

    Parameters
    ----------
    runs_dir : path
        Root of all runs (root-relative paths resolve against the project root).
    kind : str
        The experiment family, a sub-folder of ``runs_dir`` (``"qtable"``, ``"grid_a2c"``, ...).
    config : mapping
        Everything that determines the result (hyperparameters, seed, budget, env settings).
        It must be YAML-serialisable; it is written to ``config.yml``.
    name : str, optional
        Readable prefix of the folder name; the config hash is appended.
    """

    def __init__(self, runs_dir: str | os.PathLike, kind: str, config: Mapping[str, Any], *,
                 name: str | None = None):
        if not isinstance(config, Mapping):
            raise ParameterError(f"config must be a mapping, got {type(config).__name__}")
        self.kind = _slug(kind)
        self.config = _plain(config)
        self.hash = config_hash(self.config)
        self.name = _slug(name) if name else "run"
        self.path = project_path(runs_dir) / self.kind / f"{self.name}-{self.hash}"

    def __repr__(self) -> str:
        return f"Run({self.kind}/{self.path.name}, finished={self.finished})"

    def under(self, runs_dir: str | os.PathLike) -> "Run":
        """The same run (kind, config, name) in another runs folder (a remote worker's scratch folder)."""
        return Run(runs_dir, self.kind, self.config, name=self.name)

    @property
    def finished(self) -> bool:
        """True when the folder exists under its final name and holds the same config."""
        config_file = self.path / CONFIG_FILE
        if not (config_file.exists() and (self.path / METRICS_FILE).exists()):
            return False
        with config_file.open() as handle:
            return yaml.safe_load(handle) == self.config

    def execute(self, work: Callable[[Path], Any], *, force: bool = False) -> "Run":
        """Run ``work(folder)`` unless the run is already finished; return ``self``.

        ``work`` receives a temporary folder (holding ``config.yml`` already) and must write
        ``metrics.csv`` there (use :func:`write_csv_atomic` or ``DataFrame.to_csv``), plus any model
        files. On success the folder is renamed to :attr:`path`; on any exception, or if
        ``metrics.csv`` is missing, it is deleted and the error propagates.
        """
        if self.finished and not force:
            return self
        self._remove_stale_temporaries()
        tmp = self.path.with_name(f"{self.path.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:6]}")
        tmp.mkdir(parents=True)
        started = time.time()
        try:
            write_text_atomic(tmp / CONFIG_FILE, yaml.safe_dump(self.config, sort_keys=True))
            work(tmp)
            if not (tmp / METRICS_FILE).exists():
                raise RuntimeError(f"run {self.kind}/{self.path.name} wrote no {METRICS_FILE}")
            info = {
                "kind": self.kind,
                "config_hash": self.hash,
                "musicrec_version": __version__,
                "python": sys.version.split()[0],
                "platform": platform.platform(),
                **machine_description(),
                "started": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(started)),
                "wall_time_s": round(time.time() - started, 3),
            }
            write_text_atomic(tmp / RUN_INFO_FILE, yaml.safe_dump(info, sort_keys=False))
            if self.path.exists():  # a stale copy with another config or a forced rerun
                shutil.rmtree(self.path)
            os.replace(tmp, self.path)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return self

    def _remove_stale_temporaries(self) -> None:
        """Delete temporary folders of this run left by processes that no longer exist."""
        for stale in self.path.parent.glob(f"{self.path.name}.tmp-*"):
            match = re.search(r"\.tmp-(\d+)-", stale.name)
            if match and not _pid_alive(int(match.group(1))):
                shutil.rmtree(stale, ignore_errors=True)

    # -- reading a finished run -------------------------------------------------------------
    def _require_finished(self) -> None:
        if not self.finished:
            raise ParameterError(f"run {self.kind}/{self.path.name} is not finished")

    def metrics(self) -> pd.DataFrame:
        """The run's ``metrics.csv``."""
        self._require_finished()
        return pd.read_csv(self.path / METRICS_FILE)

    def timings(self) -> pd.DataFrame:
        """The run's ``timings.csv`` (wall/CPU seconds kept out of the metrics); empty if it wrote none."""
        self._require_finished()
        path = self.path / TIMINGS_FILE
        return pd.read_csv(path) if path.exists() else pd.DataFrame()

    def info(self) -> dict[str, Any]:
        """The run's ``run.yml`` (versions, start time, wall time)."""
        self._require_finished()
        with (self.path / RUN_INFO_FILE).open() as handle:
            return yaml.safe_load(handle)

    def file(self, name: str) -> Path:
        """Path of a file the run wrote (model, arrays...)."""
        self._require_finished()
        path = self.path / name
        if not path.exists():
            raise ParameterError(f"run {self.kind}/{self.path.name} has no file {name!r}")
        return path


def cached_run(runs_dir: str | os.PathLike, kind: str, config: Mapping[str, Any],
               work: Callable[[Path], Any], *, name: str | None = None) -> Run:
    """Shorthand for ``Run(runs_dir, kind, config, name=name).execute(work)``."""
    return Run(runs_dir, kind, config, name=name).execute(work)


# -- many runs at once ----------------------------------------------------------------------------

class RunsFailed(RuntimeError):
    """Some runs of :func:`run_all` raised; the others finished. ``failures`` maps run names to errors."""

    def __init__(self, failures: Mapping[str, str]):
        self.failures = dict(failures)
        lines = "\n".join(f"  {name}: {error}" for name, error in self.failures.items())
        super().__init__(f"{len(self.failures)} run(s) failed (the others finished):\n{lines}")


@functools.lru_cache(maxsize=None)
def code_fingerprint(*modules: str) -> str:
    """A hash of the code of ``modules`` (dotted names): their definitions, without docstrings, comments
    and import statements, in the order of their names.

    Put into a run's config, it makes the cache key change with any change of the code that computes the
    result, while edits of its documentation, and moving a definition from one of the modules to another,
    keep finished runs valid. Computed once per process and set of modules (as the modules are imported once).
    """
    import ast
    import importlib.util

    definitions: dict[str, str] = {}
    for module in modules:
        spec = importlib.util.find_spec(module)
        if spec is None or spec.origin is None:
            raise ParameterError(f"module {module!r} cannot be found")
        tree = ast.parse(Path(spec.origin).read_text())
        for node in ast.walk(tree):
            body = getattr(node, "body", None)
            if (isinstance(body, list) and body and isinstance(body[0], ast.Expr)
                    and isinstance(getattr(body[0], "value", None), ast.Constant)
                    and isinstance(body[0].value.value, str)):
                body[0] = ast.Pass()
        for index, node in enumerate(tree.body):
            if isinstance(node, (ast.Import, ast.ImportFrom, ast.Pass)):
                continue
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                key = node.name
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                key = ",".join(ast.dump(target) for target in targets)
            else:
                key = f"{module}:{index}"
            definitions[key] = ast.dump(node, include_attributes=False)
    digest = hashlib.sha1()
    for key in sorted(definitions):
        digest.update(key.encode())
        digest.update(definitions[key].encode())
    return digest.hexdigest()[:12]


def library_versions(*packages: str) -> dict[str, str]:
    """Installed versions of ``packages`` (and of Python, major.minor): part of a run's cache key where
    another version could change the numbers (e.g. torch's kernels, numpy's generators)."""
    from importlib.metadata import PackageNotFoundError, version

    versions = {"python": ".".join(platform.python_version_tuple()[:2])}
    for package in packages:
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = "not installed"
    return versions


def _worker_setup() -> None:
    from musicrec.utils import end_with_parent, setup_torch

    end_with_parent(os.getppid())
    setup_torch("cpu", threads=1)


def _execute(run: "Run", work: Callable[[Path], Any]) -> str:
    return str(run.execute(work).path)


BACKENDS = ("local", "ray")


def describe_run(run: "Run") -> str:
    """``kind/name`` of a run with its config, for error messages (the folder is gone when it failed)."""
    text = json.dumps(_plain(run.config), sort_keys=True)
    return f"{run.kind}/{run.path.name} (config {text[:400]}{'...' if len(text) > 400 else ''})"


def default_backend() -> str:
    """The backend named by the ``BACKEND`` environment variable (``make reproduce BACKEND=ray``), else local."""
    from musicrec.errors import check_choice

    return check_choice("BACKEND", os.environ.get("BACKEND") or "local", BACKENDS)


def run_all(tasks, *, workers: int = 1, backend: str | None = None, progress: bool = True,
            description: str = "runs") -> list["Run"]:
    """Execute ``(run, work)`` pairs not finished yet; return the runs in the order given.

    Parameters
    ----------
    tasks : sequence of (Run, callable)
        ``work(folder)`` as for :meth:`Run.execute`; for ``workers > 1`` it must be picklable (a
        module-level function or a ``functools.partial`` of one).
    workers : int
        Runs executed at the same time, each in its own process with one torch thread (``1``: in this
        process, one after the other).
    backend : {"local", "ray"} or None
        ``"local"``: processes on this machine. ``"ray"``: one Ray task per run (see
        :mod:`musicrec.ray_backend`; ``RAY_ADDRESS`` names the cluster). ``None``: :func:`default_backend`.
    progress : bool
        A progress bar over runs.

    A failing run does not stop the others: when all have ended, :class:`RunsFailed` names every
    failed run with its error. An interrupted call stops the workers; their temporary folders never
    look finished and are removed by the next attempt.
    """
    from musicrec.errors import check_choice

    backend = default_backend() if backend is None else check_choice("backend", backend, BACKENDS)
    tasks = list(tasks)
    pending = [(run, work) for run, work in tasks if not run.finished]
    if pending and backend == "ray":
        from musicrec.ray_backend import run_on_ray

        failures = run_on_ray(pending, progress=progress, description=description)
        if failures:
            raise RunsFailed({describe_run(run): error for run, error in failures})
    elif pending:
        _run_local(pending, int(workers), progress, description)
    return [run for run, _ in tasks]


def _run_local(pending, workers: int, progress: bool, description: str) -> None:
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    from tqdm import tqdm

    failures: dict[str, str] = {}
    bar = tqdm(total=len(pending), desc=description, unit="run", disable=not progress, mininterval=1)
    if workers <= 1 or len(pending) == 1:
        for run, work in pending:
            try:
                run.execute(work)
            except (KeyboardInterrupt, SystemExit):
                raise
            except Exception as error:  # noqa: BLE001  (reported with the run's name below)
                failures[describe_run(run)] = f"{type(error).__name__}: {error}"
            bar.update()
    else:
        executor = ProcessPoolExecutor(max_workers=min(workers, len(pending)), initializer=_worker_setup,
                                       mp_context=multiprocessing.get_context("spawn"))
        futures = {executor.submit(_execute, run, work): run for run, work in pending}
        try:
            remaining = set(futures)
            while remaining:
                done, remaining = wait(remaining, return_when=FIRST_COMPLETED)
                for future in done:
                    error = future.exception()
                    if error is not None:
                        failures[describe_run(futures[future])] = f"{type(error).__name__}: {error}"
                    bar.update()
        except BaseException:
            for process in list(getattr(executor, "_processes", {}).values()):
                process.terminate()
            executor.shutdown(wait=False, cancel_futures=True)
            raise
        executor.shutdown()
    bar.close()
    if failures:
        raise RunsFailed(failures)
