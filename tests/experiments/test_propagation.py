import numpy as np
import pandas as pd

from musicrec.experiments.propagation import error_grid, error_table


def test_error_grid_and_table():
    rng = np.random.default_rng(0)
    points = rng.random((300, 2))
    truth = np.exp(-((points - 0.5) ** 2).sum(axis=1) / 0.05) * 11
    logs = pd.DataFrame({"track": rng.choice(300, 200), "listened": rng.random(200),
                         "liked": rng.integers(0, 2, 200).astype(float)})
    grid = error_grid(points, points, logs, truth, cluster_counts=[5, 10], decay_rates=[0.0, 1.0],
                      per_cluster=4, seeds=[0, 1], lam=10.0)
    assert len(grid) == 2 * 2 * (2 + 2)
    assert set(grid.method) == {"clusters", "knn_latent", "global_mean"}
    assert (grid.observed <= 4 * grid.n_clusters).all() and (grid.rmse > 0).all()
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
