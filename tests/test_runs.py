import pandas as pd
import pytest
import yaml

from musicrec.errors import ParameterError
from musicrec.runs import Run, cached_run, config_hash


def _work(calls):
    def work(folder):
        calls.append(folder)
        pd.DataFrame({"step": [0, 1], "reward": [1.0, 2.0]}).to_csv(folder / "metrics.csv", index=False)

    return work


def test_config_hash_ignores_key_order():
    assert config_hash({"a": 1, "b": [1, 2]}) == config_hash({"b": [1, 2], "a": 1})
    assert config_hash({"a": 1}) != config_hash({"a": 2})


def test_finished_run_is_reused_and_changed_config_retrains(tmp_path):
    calls = []
    run = cached_run(tmp_path, "toy", {"seed": 0}, _work(calls), name="toy-seed0")
    assert run.finished and len(calls) == 1
    assert yaml.safe_load((run.path / "config.yml").read_text()) == {"seed": 0}
    assert run.metrics().reward.tolist() == [1.0, 2.0]
    assert run.info()["wall_time_s"] >= 0
    again = cached_run(tmp_path, "toy", {"seed": 0}, _work(calls), name="toy-seed0")
    assert again.path == run.path and len(calls) == 1
    other = cached_run(tmp_path, "toy", {"seed": 1}, _work(calls), name="toy-seed1")
    assert other.path != run.path and len(calls) == 2


def test_interrupted_run_leaves_nothing_that_looks_finished(tmp_path):
    def crash(folder):
        (folder / "model.zip").write_text("partial")
        raise KeyboardInterrupt

    run = Run(tmp_path, "toy", {"seed": 0})
    with pytest.raises(KeyboardInterrupt):
        run.execute(crash)
    assert not run.finished and not run.path.exists()
    assert list((tmp_path / "toy").iterdir()) == []


def test_run_without_metrics_is_an_error(tmp_path):
    run = Run(tmp_path, "toy", {"seed": 0})
    with pytest.raises(RuntimeError, match="metrics.csv"):
        run.execute(lambda folder: None)
    assert not run.path.exists()


def test_stale_temporary_of_a_dead_process_is_removed(tmp_path):
    run = Run(tmp_path, "toy", {"seed": 0})
    stale = run.path.with_name(f"{run.path.name}.tmp-999999999-abcdef")
    stale.mkdir(parents=True)
    run.execute(_work([]))
    assert not stale.exists() and run.finished


def test_reading_an_unfinished_run_is_an_error(tmp_path):
    with pytest.raises(ParameterError, match="not finished"):
        Run(tmp_path, "toy", {"seed": 0}).metrics()


def test_write_metrics_keeps_times_apart(tmp_path):
    from musicrec.runs import write_metrics

    frame = pd.DataFrame({"episode": [0, 1], "return": [1.0, 2.0], "time_s": [0.1, 0.2]})
    run = Run(tmp_path, "toy", {"seed": 0})
    run.execute(lambda folder: write_metrics(frame, folder, timings=["time_s"], keys=["episode"]))
    assert list(run.metrics().columns) == ["episode", "return"]
    assert run.timings().to_dict("list") == {"episode": [0, 1], "time_s": [0.1, 0.2]}
    with pytest.raises(ParameterError, match=r"column\(s\) \['wall'\]"):
        write_metrics(frame, tmp_path, timings=["wall"])
    other = Run(tmp_path, "toy", {"seed": 1}).execute(_work([]))
    assert other.timings().empty


def test_file_digest_follows_the_content_and_caches_by_size_and_mtime(tmp_path):
    import os

    from musicrec.runs import file_digest, files_digest

    first, second, cache = tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "digests.json"
    first.write_text("skip_2\n1\n0\n")
    second.write_text("skip_2\n0\n1\n")  # same name length, same size, other content
    assert first.stat().st_size == second.stat().st_size
    assert file_digest(first, cache=cache) != file_digest(second, cache=cache)
    assert files_digest([first, second]) == files_digest([second, first])
    before = files_digest([first], root=tmp_path, cache=cache)
    stat = first.stat()
    first.write_text("skip_2\n0\n0\n")  # same size: a name-and-size key would not notice
    os.utime(first, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    changed = files_digest([first], root=tmp_path, cache=cache)
    assert changed != before
    os.utime(first, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # another stamp than cached: hashed again
    assert files_digest([first], root=tmp_path, cache=cache) == changed
    with pytest.raises(ParameterError, match="is not a file"):
        file_digest(tmp_path)


def test_run_info_names_the_cpu_and_the_kernels_it_ran_on(tmp_path):
    import torch  # noqa: F401  (loaded: its kernels' instruction set is recorded)

    run = cached_run(tmp_path, "toy", {"seed": 0}, _work([]), name="toy-seed0")
    info = run.info()
    assert info["cpu"] and int(info["cpus"]) >= 1
    assert info["torch_cpu_capability"] == str(torch.backends.cpu.get_cpu_capability())
