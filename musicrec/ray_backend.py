"""The Ray backend of :func:`musicrec.runs.run_all`: one Ray task per run, no shared file system needed.

Each unfinished run becomes one task with ``num_cpus=1``. The task executes the run into a temporary
folder on whichever node runs it (the same :meth:`musicrec.runs.Run.execute` as the local backend, one
torch thread), packs the finished folder and returns it to the driver, which unpacks it beside its final
place and renames it into place: a run folder under ``runs/`` is therefore either complete or absent, on
the driver's disk only. Runs already finished are never submitted.

Where the cluster is: ``RAY_ADDRESS`` (e.g. ``ray://head:10001`` or ``127.0.0.1:6379``) names an existing
cluster; without it a local Ray is started for the duration of the sweep. Every node needs the project's
environment (``make setup``), since the tasks import ``musicrec`` there.
"""

from __future__ import annotations

import io
import os
import shutil
import tarfile
import tempfile
import uuid
from pathlib import Path


def _pack(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        archive.add(folder, arcname=folder.name)
    return buffer.getvalue()


def _unpack_into_place(data: bytes, run) -> None:
    """Unpack a finished run folder beside its final place, then rename it there (atomic)."""
    parent = run.path.parent
    parent.mkdir(parents=True, exist_ok=True)
    staging = parent / f".{run.path.name}.ray-{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
            archive.extractall(staging, filter="data")
        unpacked = staging / run.path.name
        if not unpacked.is_dir():
            raise RuntimeError(f"the Ray task of {run.path.name} returned no run folder")
        if run.path.exists():  # finished meanwhile (another sweep): keep the one in place
            return
        os.replace(unpacked, run.path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _execute_remotely(run, work) -> bytes:
    """Run ``work`` as ``run`` in a temporary runs folder of the worker; return the finished folder packed."""
    from musicrec.utils import setup_torch

    setup_torch("cpu", threads=1)
    scratch = Path(tempfile.mkdtemp(prefix="musicrec-ray-"))
    try:
        run = run.under(scratch)
        run.execute(work)
        return _pack(run.path)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def run_on_ray(pending, *, progress: bool = True, description: str = "runs") -> list[tuple[object, str]]:
    """Execute ``(run, work)`` pairs as Ray tasks (see the module docstring); return the failed runs with
    their errors, after all tasks ended (:func:`musicrec.runs.run_all` raises them as one error)."""
    try:
        import ray
    except ImportError:
        from musicrec.errors import ParameterError

        raise ParameterError("backend 'ray' needs the ray package: pip install -r requirements.txt") from None
    from tqdm import tqdm

    started_here = not ray.is_initialized()
    if started_here:
        address = os.environ.get("RAY_ADDRESS") or None
        ray.init(address=address, include_dashboard=False, log_to_driver=False, configure_logging=False,
                 runtime_env={"env_vars": {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}})
    task = ray.remote(num_cpus=1, max_retries=0)(_execute_remotely)
    futures = {task.remote(run, work): run for run, work in pending}
    failures: list[tuple[object, str]] = []
    bar = tqdm(total=len(futures), desc=f"{description} on Ray", unit="run", disable=not progress, mininterval=1)
    try:
        remaining = list(futures)
        while remaining:
            done, remaining = ray.wait(remaining, num_returns=1)
            for ref in done:
                run = futures[ref]
                try:
                    _unpack_into_place(ray.get(ref), run)
                except ray.exceptions.RayTaskError as error:
                    cause = error.cause if getattr(error, "cause", None) is not None else error
                    failures.append((run, f"{type(cause).__name__}: {cause}"))
                except Exception as error:  # noqa: BLE001  (reported with the run's name below)
                    failures.append((run, f"{type(error).__name__}: {error}"))
                bar.update()
    except BaseException:
        for ref in futures:
            ray.cancel(ref, force=True)
        raise
    finally:
        bar.close()
        if started_here:
            ray.shutdown()
    return failures
