import numpy as np
import pytest

from musicrec.agents.qtable import (
    QTableAgent,
    oracle_reward_per_step,
    policy_reward_per_step,
    random_reward_per_step,
    train_q_learning,
)
from musicrec.envs.genre import GenreEnv
from musicrec.errors import ParameterError
from musicrec.hyperparams import load_hyperparams

GENRES = ["Pop", "Rock", "Jazz", "Classical", "HipHop"]


def test_worked_example_from_the_slides():
    # Q(Rock, Pop) = 1.0; max_a' Q(Pop, a') = 0.2; R = 10; gamma = 0.9; alpha = 0.1 -> 1.918
    agent = QTableAgent(5, 5, alpha=0.1, gamma=0.9)
    rock, pop = GENRES.index("Rock"), GENRES.index("Pop")
    agent.q[rock, pop] = 1.0
    agent.q[pop] = [0.2, 0.0, 0.0, 0.0, 0.0]
    assert agent.update(rock, pop, 10.0, pop) == pytest.approx(1.918)
    assert agent.q[rock, pop] == pytest.approx(1.918)


def test_epsilon_decays_multiplicatively_to_its_floor():
    agent = QTableAgent(2, 2, epsilon=1.0, epsilon_decay=0.5, epsilon_min=0.2)
    assert [agent.decay_epsilon() for _ in range(4)] == [0.5, 0.25, 0.2, 0.2]


@pytest.mark.parametrize("user, best", [("pop_lover", "Pop"), ("jazz_fan", "Jazz"),
                                        ("classical_buff", "Classical")])
def test_greedy_policy_converges_to_the_profile_best_genre(user, best):
    # The compendium's hyperparameters and the default budget of notebook 01 (1500 episodes).
    env = GenreEnv(user)
    for seed in (0, 1):
        agent = QTableAgent(5, 5, seed=seed, **load_hyperparams("qtable", "musicrec/Genre-v0"))
        train_q_learning(env, agent, 1500, seed=seed)
        assert [GENRES[a] for a in agent.policy()] == [best] * 5


def test_q_learning_beats_the_bandit_on_the_transition_listener():
    env = GenreEnv("transition")
    expected = env.expected_reward()
    scores = {}
    for name, gamma in (("q", 0.9), ("bandit", 0.0)):
        agent = QTableAgent(5, 5, gamma=gamma, epsilon_decay=0.995, seed=1)
        train_q_learning(env, agent, 1500, seed=1)
        scores[name] = policy_reward_per_step(agent.policy(), expected, 10)
    oracle, _ = oracle_reward_per_step(expected, 10)
    assert scores["bandit"] < scores["q"] <= oracle + 1e-12
    assert scores["q"] > 0.9 * oracle


def test_exact_policy_value_matches_simulation():
    env = GenreEnv("transition", episode_length=10)
    policy = np.array([1, 0, 3, 2, 0])
    exact = policy_reward_per_step(policy, env.expected_reward(), 10)
    env.reset(seed=0)
    total, steps = 0.0, 0
    for _ in range(3000):
        state, _ = env.reset()
        for _ in range(10):
            state, reward, _, _, _ = env.step(int(policy[state]))
            total += reward
            steps += 1
    # 30,000 Bernoulli-based rewards of spread 15: standard error ~0.04
    assert total / steps == pytest.approx(exact, abs=0.2)


def test_oracle_on_a_hand_computed_case():
    # Two genres; r(0,0)=1, r(0,1)=0, r(1,0)=5, r(1,1)=0; two steps.
    expected = np.array([[1.0, 0.0], [5.0, 0.0]])
    value, _ = oracle_reward_per_step(expected, 2)
    # From 0: 0->1 (0) then 1->0 (5) = 5 beats 0->0->0 = 2; from 1: 1->0 (5), 0->0 (1) = 6.
    assert value == pytest.approx((5 + 6) / 2 / 2)
    assert random_reward_per_step(expected) == pytest.approx(1.5)


@pytest.mark.parametrize("kwargs, message", [
    ({"alpha": 0}, "alpha=0 must be > 0"), ({"alpha": 1.5}, "alpha=1.5 must be <= 1"),
    ({"gamma": -0.1}, "gamma=-0.1"), ({"epsilon": 2}, "epsilon=2"),
    ({"epsilon_decay": 0}, "epsilon_decay=0"), ({"epsilon_min": 0.5, "epsilon": 0.1}, "epsilon_min=0.5"),
])
def test_bad_hyperparameters_are_named(kwargs, message):
    with pytest.raises(ParameterError, match=message):
        QTableAgent(5, 5, **kwargs)
