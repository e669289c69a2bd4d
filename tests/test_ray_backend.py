"""The Ray backend on a real (local) Ray cluster: same bytes as the local backend, failures named."""

import functools
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from musicrec.experiments import grid_agents
from musicrec.runs import Run, RunsFailed, run_all

RAY = Path(sys.executable).with_name("ray")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def ray_cluster():
    """A Ray head on 127.0.0.1 with two CPUs, started with ``ray start`` and stopped afterwards."""
    if not RAY.exists():
        pytest.fail(f"the ray command is missing beside {sys.executable}: run make setup (requirements.txt pins ray)")
    temp = Path(tempfile.mkdtemp(prefix="ray-", dir="/tmp"))
    port = _free_port()
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    subprocess.run([str(RAY), "start", "--head", "--node-ip-address=127.0.0.1", f"--port={port}", "--num-cpus=2",
                    "--include-dashboard=false", "--disable-usage-stats", f"--temp-dir={temp}"],
                   check=True, env=env, capture_output=True, timeout=180)
    address = f"127.0.0.1:{port}"
    try:
        yield address
    finally:
        subprocess.run([str(RAY), "stop", "--force"], env=env, capture_output=True, timeout=120)
        shutil.rmtree(temp, ignore_errors=True)


@pytest.mark.slow
def test_a_ray_sweep_gives_the_local_backends_bytes_and_names_failed_runs(ray_cluster, tmp_path, monkeypatch,
                                                                          tiny_grid_budget):
    monkeypatch.setenv("RAY_ADDRESS", ray_cluster)
    budget = {**tiny_grid_budget, "seeds": [0, 1], "workers": 2}
    names = ["wider_grid_n5"]
    started = time.perf_counter()
    on_ray = grid_agents.run_study(names, budget, tmp_path / "ray", backend="ray", progress=False)
    ray_s = time.perf_counter() - started
    local = grid_agents.run_study(names, budget, tmp_path / "local", backend="local", progress=False)
    local_s = time.perf_counter() - started - ray_s
    print(f"smoke sweep of {len(on_ray)} runs: {ray_s:.1f} s on the Ray cluster, {local_s:.1f} s on local processes")
    for first, second in zip(on_ray.run, local.run):
        assert first.finished and first.path.name == second.path.name
        for name in ("metrics.csv", "eval.csv", "checkpoints.csv", "final_returns.csv"):
            assert (first.path / name).read_bytes() == (second.path / name).read_bytes(), (first.path.name, name)
    assert not [p for p in (tmp_path / "ray" / "grid_agents").iterdir() if p.name.startswith(".")]
    # finished runs are not submitted again: the same call returns at once with the same folders
    again = grid_agents.run_study(names, budget, tmp_path / "ray", backend="ray", progress=False)
    assert [r.path for r in again.run] == [r.path for r in on_ray.run]
    # a run that raises is named with its config; the others finish; nothing half-written is left
    good = Run(tmp_path / "mixed", "probe", {"ok": True}, name="fine")
    bad = Run(tmp_path / "mixed", "probe", {"ok": False}, name="broken")
    write = functools.partial(Path.write_text, data="x\n")
    tasks = [(bad, Path.read_bytes),  # reading the run's folder as a file raises IsADirectoryError
             (good, lambda folder: write(folder / "metrics.csv"))]
    with pytest.raises(RunsFailed, match=r"probe/broken-.*\"ok\": false.*IsADirectoryError") as failed:
        run_all(tasks, backend="ray", progress=False)
    assert len(failed.value.failures) == 1 and good.finished and not bad.finished
    assert sorted(p.name for p in (tmp_path / "mixed" / "probe").iterdir()) == [good.path.name]
