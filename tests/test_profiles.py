import pytest
import yaml

from musicrec.errors import ParameterError
from musicrec.profiles import PROFILE_DIR, PROFILES, load_profile, studies


@pytest.mark.parametrize("study", studies())
def test_every_study_defines_every_profile(study):
    budgets = [load_profile(study, profile) for profile in PROFILES]
    assert [b["profile"] for b in budgets] == list(PROFILES)


def test_profile_files_are_valid_yaml():
    for path in PROFILE_DIR.glob("*.yml"):
        assert isinstance(yaml.safe_load(path.read_text()), dict), path.name


def test_unknown_profile_and_study_are_named():
    with pytest.raises(ParameterError, match="profile='quick'"):
        load_profile("genre", "quick")
    with pytest.raises(ParameterError, match="study='nope'"):
        load_profile("nope", "smoke")


def test_typed_budgets_load_every_profile_and_name_what_is_wrong():
    from musicrec.experiments import genre, grid_agents, grid_references

    for module in (genre, grid_agents, grid_references):
        for profile in PROFILES:
            budget = module.load_budget(profile)
            assert budget.profile == profile
            # a typed budget reads like the plain profile mapping, with lists as tuples
            plain = load_profile(budget.study, profile)
            assert {key: budget[key] for key in plain} == {
                key: tuple(v) if isinstance(v, list) else v for key, v in plain.items()}
    with pytest.raises(ParameterError, match=r"profiles/genre.yml:smoke: unknown budget key\(s\) \['episdes'\]"):
        genre.GenreBudget.from_mapping({"episdes": 3}, source="profiles/genre.yml:smoke")
    with pytest.raises(ParameterError, match=r"needs \['episodes', 'seeds'\]"):
        genre.GenreBudget.from_mapping({})
    with pytest.raises(ParameterError, match="seeds\\[1\\]='b' is not an integer"):
        genre.GenreBudget.from_mapping({"episodes": 3, "seeds": [0, "b"]})
    with pytest.raises(ParameterError, match="node_limit=1.5 is not an integer"):
        grid_references.GridEnvironmentBudget.from_mapping({"dims": [2], "node_limit": 1.5})
    budget = grid_references.GridEnvironmentBudget.from_mapping({"dims": [2], "node_limit": None})
    assert budget.node_limit is None and {**budget}["levels"] == 5
    assert budget.replace(dims=[3]).dims == (3,)
    with pytest.raises(ParameterError, match="unknown target or reward"):
        budget.replace(targets=["nowhere"])


def test_a_profile_takes_model_settings_from_its_hyperparameter_files_and_may_override_them(tmp_path, monkeypatch):
    import musicrec.hyperparams as hyperparams
    import musicrec.profiles as profiles

    (tmp_path / "profiles").mkdir()
    (tmp_path / "hyperparams").mkdir()
    (tmp_path / "hyperparams" / "model.yml").write_text("default: {width: 64, rate: 0.1}\n")
    (tmp_path / "profiles" / "study.yml").write_text(
        "hyperparams: [model]\ncommon: {seeds: [0]}\nsmoke: {width: 8}\ndefault: {}\nfull: {}\n")
    monkeypatch.setattr(profiles, "PROFILE_DIR", tmp_path / "profiles")
    monkeypatch.setattr(hyperparams, "HYPERPARAM_DIR", tmp_path / "hyperparams")
    assert load_profile("study", "default") == {"width": 64, "rate": 0.1, "seeds": [0], "profile": "default"}
    assert load_profile("study", "smoke")["width"] == 8
    (tmp_path / "profiles" / "study.yml").write_text("hyperparams: [nothing]\nsmoke: {}\ndefault: {}\nfull: {}\n")
    with pytest.raises(ParameterError, match="nothing"):
        load_profile("study", "smoke")


def test_the_latent_study_reads_its_vae_and_listener_from_the_hyperparameter_files():
    from musicrec.hyperparams import load_hyperparams

    raw = yaml.safe_load((PROFILE_DIR / "latent.yml").read_text())
    listener, vae = load_hyperparams("latent_listener"), load_hyperparams("latent_vae")
    assert not (set(listener) | set(vae)) & set(raw["common"])  # one home for each setting
    budget = load_profile("latent", "default")
    assert {key: budget[key] for key in listener} == listener and {key: budget[key] for key in vae} == vae
