import pytest

from musicrec.agents.grid_rule import GridRulePolicy
from musicrec.data.corpus import GENRES
from musicrec.errors import ParameterError
from musicrec.experiments import system
from musicrec.profiles import load_profile
from musicrec.system.evaluation import ORACLE, evaluate
from musicrec.system.playback import PLAYBACKS


def test_profiles_name_an_agent_and_a_corpus():
    for profile in ("smoke", "default", "full"):
        b = system.load_budget(profile)
        assert b["agents"]["experiments"] and b["agents"]["seeds"]
        assert system.features_budget(b)["chosen_layer"] == "pool3"
    smoke = system.features_budget(system.load_budget("smoke"))
    assert smoke["clips_per_genre"] * 10 >= 25 and smoke["corpus"] == "runs"  # 2-D grid: 25 cells
    from musicrec.experiments.grid_agents import experiment

    for profile in ("default", "full"):
        b = system.load_budget(profile)
        dims = experiment(b["agents"]["experiments"][0]).env["dims"]
        assert system.features_budget(b)["clips_per_genre"] * 10 >= 5**dims  # the synthetic corpus fills the grid
        real = system.dataset_agents(b, "real")["experiments"][0]
        assert experiment(real).env["dims"] == 3  # 265 real clips fill 5**3 = 125 cells, not 625


def test_the_typed_budget_reads_like_the_profile_and_names_what_is_wrong():
    for profile in ("smoke", "default", "full"):
        budget = system.load_budget(profile)
        plain = load_profile("system", profile)
        agents = plain.pop("dataset_agents", {})
        assert {key: budget[key] for key in plain} == {
            key: tuple(v) if isinstance(v, list) else v for key, v in plain.items()}
        assert budget.dataset_agents == {dataset: tuple(names) for dataset, names in agents.items()}
        assert system.load_budget({**plain, "dataset_agents": agents}) == budget
    smoke = load_profile("system", "smoke")
    with pytest.raises(ParameterError, match=r"unknown playback\(s\) \['shuffle'\]"):
        system.load_budget({**smoke, "playbacks": ["thesis", "shuffle"]})
    with pytest.raises(ParameterError, match=r"agents lacks \['profile'\]"):
        system.load_budget({**smoke, "agents": {"experiments": ["wider_grid_n20"], "seeds": [0]}})
    with pytest.raises(ParameterError, match=r"listener has unknown key\(s\) \['bonus'\]"):
        system.load_budget({**smoke, "listener": {"bonus": 1}})
    with pytest.raises(ParameterError, match=r"features: .*unknown budget key\(s\) \['clips'\]"):
        system.load_budget({**smoke, "features": {"profile": "smoke", "clips": 3}})


def test_the_notebook_tables_of_the_metrics(song_features, thesis_grid):
    frame = song_features()
    factored = {**thesis_grid, "action": "factored"}
    agents = {("rule", 0): GridRulePolicy(**thesis_grid), ("rule factored", 1): (GridRulePolicy(**factored), factored),
              (ORACLE, 0): ORACLE}
    budget = {"levels": 5, "listener": {"metric": "euclidean", "genre_bonus": 1}, "playbacks": list(PLAYBACKS),
              "rerank_k": 5, "anchor_rating": 4}
    metrics, _, _ = evaluate(frame, agents, thesis_grid, budget, layer="pool3", n_features=6)
    assert system.trained_agent(metrics) == "rule"
    table = system.genre_table(metrics.assign(agent="trained"))
    assert table.genre.tolist()[:11] == list(GENRES) + ["all"]
    assert table.thesis_mad.iloc[0] == 1.14
    summary = system.agents_summary(metrics)
    assert len(summary) == 3 * len(PLAYBACKS)
    assert summary.agent.tolist()[:2 * len(PLAYBACKS)] == ["rule"] * len(PLAYBACKS) + ["rule factored"] * len(PLAYBACKS)
    spread = system.seed_spread(metrics, agent="rule")
    assert set(spread.genre) == set(GENRES) | {"all"}
    reach = system.reach_table(metrics)
    assert reach.loc[ORACLE, "share"] == 1.0
    song = system.example_target(metrics, genre="jazz", agent="rule")
    assert frame.genre.iloc[song] == "jazz"


def test_load_corpus_passes_the_dataset_on(tmp_path):
    with pytest.raises(ParameterError, match="dataset='gtzan' needs root=PATH"):
        system.load_corpus(system.load_budget("smoke"), tmp_path, dims=2, dataset="gtzan")


def test_the_evaluation_key_holds_the_code_that_computes_it(tmp_path):
    from musicrec.runs import Run, code_fingerprint

    feature_run = Run(tmp_path, "feature_space", {"layer": "pool3"}, name="pool3-pca4")
    agent_run = Run(tmp_path, "grid_agents", {"seed": 0}, name="agent")
    config = system.run_config(system.load_budget("smoke"), feature_run, {"a2c": {0: agent_run}})
    assert config["code"] == code_fingerprint(*system.EVALUATION_MODULES)
    assert config["features"] == f"feature_space/{feature_run.path.name}"
