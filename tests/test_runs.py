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
