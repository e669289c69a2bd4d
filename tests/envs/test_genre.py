import gymnasium
import pytest
from gymnasium.utils.env_checker import check_env

import musicrec.envs  # noqa: F401  (registers the ids)
from musicrec.envs.genre import GenreEnv
from musicrec.errors import ParameterError


@pytest.mark.parametrize("user", ["generic", "pop_lover", "transition"])
def test_check_env_passes(user):
    check_env(gymnasium.make("musicrec/Genre-v0", user=user).unwrapped, skip_render_check=True)


def test_next_state_is_the_recommendation_and_episode_truncates():
    env = GenreEnv("pop_lover", episode_length=3)
    state, info = env.reset(seed=0, options={"start": "Jazz"})
    assert state == 2 and info["genre"] == "Jazz"
    for step in range(3):
        state, reward, terminated, truncated, info = env.step(0)
        assert state == 0 and reward in (10.0, -5.0) and not terminated
        assert truncated == (step == 2)


def test_same_seed_same_episode():
    def episode(seed):
        env = GenreEnv("transition")
        env.reset(seed=seed)
        return [env.step(a % 5)[1] for a in range(10)]

    assert episode(3) == episode(3)
    assert any(episode(3) != episode(s) for s in range(4, 8))


def test_bad_input_is_named():
    env = GenreEnv("generic")
    env.reset(seed=0)
    with pytest.raises(ParameterError, match="action=7"):
        env.step(7)
    with pytest.raises(ParameterError, match="start='Polka'"):
        env.reset(options={"start": "Polka"})
    with pytest.raises(ParameterError, match="episode_length=0"):
        GenreEnv("generic", episode_length=0)
