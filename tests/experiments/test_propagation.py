import pytest

from musicrec.errors import ParameterError
from musicrec.experiments.propagation import check_budget, error_table


def test_error_table(small_error_grid):
    grid = small_error_grid
    table = error_table(grid)
    assert table.method.tolist()[0] == "clusters" and table.seeds.eq(2).all()
    assert len(table) == 2 * 2 + 2 + 2


def test_two_identical_offline_agent_runs_write_byte_identical_metrics(tmp_path):
    from musicrec.experiments import propagation
    from musicrec.profiles import load_profile

    budget = {**load_profile("latent", "smoke"), "n_tracks": 300, "eval_sessions": 4, "timesteps_knn": 64}
    paths = []
    for name in ("first", "second"):
        run = propagation.offline_agent_run(budget, tmp_path / name, seed=0, progress=False)
        paths.append(run.path / "metrics.csv")
        assert "time_s" in run.timings().columns
    assert paths[0].read_bytes() == paths[1].read_bytes()


def test_check_budget_is_the_budgets_validation():
    from musicrec.profiles import load_profile

    assert check_budget("smoke").offline_clusters == 10
    with pytest.raises(ParameterError, match="offline_clusters=0 must be >= 1"):
        check_budget({**load_profile("latent", "smoke"), "offline_clusters": 0})
