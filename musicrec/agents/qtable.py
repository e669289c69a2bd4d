"""Tabular Q-learning with epsilon-greedy exploration, as in the Q-learning slides.

Update rule (slides): ``Q(s, a) <- Q(s, a) + alpha * (r + gamma * max_a' Q(s', a') - Q(s, a))``.
Epsilon decays multiplicatively (``epsilon <- max(epsilon_min, epsilon * epsilon_decay)``) once per
episode. With ``gamma = 0`` the same agent is a per-state (contextual) bandit, the myopic baseline.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from musicrec.errors import check_number


class QTableAgent:
    """Q-table over ``n_states x n_actions``, all zeros at the start.

    Parameters
    ----------
    n_states, n_actions : int
        Table shape.
    alpha : float in (0, 1]
        Learning rate.
    gamma : float in [0, 1]
        Discount factor; 0 makes the agent a per-state bandit.
    epsilon : float in [0, 1]
        Initial exploration probability.
    epsilon_decay : float in (0, 1]
        Multiplicative decay applied by :meth:`decay_epsilon`.
    epsilon_min : float in [0, epsilon]
        Floor of epsilon.
    seed : int, optional
        Seed of the agent's own generator (exploration and tie-breaking).

    Examples
    --------
    The worked example of the slides (Q(Rock, Pop) = 1.0, max Q(Pop, .) = 0.2, R = 10):

    >>> agent = QTableAgent(5, 5, alpha=0.1, gamma=0.9)
    >>> agent.q[1, 0], agent.q[0, 0] = 1.0, 0.2
    >>> round(agent.update(1, 0, 10.0, 0), 3)
    1.918
    """

    def __init__(self, n_states: int, n_actions: int, *, alpha: float = 0.1, gamma: float = 0.9,
                 epsilon: float = 1.0, epsilon_decay: float = 0.995, epsilon_min: float = 0.01,
                 seed: int | None = None):
        check_number("n_states", n_states, low=1, integer=True)
        check_number("n_actions", n_actions, low=1, integer=True)
        self.alpha = check_number("alpha", alpha, low=0, high=1, low_inclusive=False)
        self.gamma = check_number("gamma", gamma, low=0, high=1)
        self.epsilon = check_number("epsilon", epsilon, low=0, high=1)
        self.epsilon_decay = check_number("epsilon_decay", epsilon_decay, low=0, high=1,
                                          low_inclusive=False)
        self.epsilon_min = check_number("epsilon_min", epsilon_min, low=0, high=epsilon)
        self.q = np.zeros((int(n_states), int(n_actions)))
        self.rng = np.random.default_rng(seed)

    def _greedy(self, state: int) -> int:
        row = self.q[state]
        best = np.flatnonzero(row == row.max())
        # Random tie-breaking: with an all-zero table, argmax would always pick action 0.
        return int(best[0] if len(best) == 1 else self.rng.choice(best))

    def act(self, state: int) -> int:
        """Epsilon-greedy action for ``state``."""
        if self.rng.random() < self.epsilon:
            return int(self.rng.integers(self.q.shape[1]))
        return self._greedy(state)

    def recommend(self, state: int) -> int:
        """Greedy action (ties go to the lowest index, so the policy is deterministic)."""
        return int(np.argmax(self.q[state]))

    def policy(self) -> np.ndarray:
        """Greedy action of every state, shape (n_states,)."""
        return np.argmax(self.q, axis=1)

    def update(self, state: int, action: int, reward: float, next_state: int) -> float:
        """One Q-learning update; returns the new ``Q(state, action)``."""
        target = reward + self.gamma * self.q[next_state].max()
        self.q[state, action] += self.alpha * (target - self.q[state, action])
        return float(self.q[state, action])

    def decay_epsilon(self) -> float:
        """Multiply epsilon by its decay (not below ``epsilon_min``); returns the new epsilon."""
        self.epsilon = max(self.epsilon_min, self.epsilon * self.epsilon_decay)
        return self.epsilon


def train_q_learning(env, agent: QTableAgent, episodes: int, *, seed: int | None = None) -> pd.DataFrame:
    """Train ``agent`` on ``env`` for ``episodes`` episodes; one row of metrics per episode.

    Columns: ``episode``, ``reward`` (total), ``reward_per_step``, ``likes``, ``steps``,
    ``epsilon`` (used during the episode) and ``action_<i>`` counts of each action taken.
    """
    check_number("episodes", episodes, low=1, integer=True)
    n_actions = agent.q.shape[1]
    rows = []
    state, _ = env.reset(seed=seed)
    for episode in range(int(episodes)):
        if episode:
            state, _ = env.reset()
        epsilon = agent.epsilon
        total, likes, steps = 0.0, 0, 0
        counts = np.zeros(n_actions, dtype=int)
        truncated = terminated = False
        while not (truncated or terminated):
            action = agent.act(state)
            next_state, reward, terminated, truncated, info = env.step(action)
            agent.update(state, action, reward, next_state)
            state = next_state
            total += reward
            likes += int(info.get("liked", False))
            counts[action] += 1
            steps += 1
        agent.decay_epsilon()
        rows.append({"episode": episode, "reward": total, "reward_per_step": total / steps,
                     "likes": likes, "steps": steps, "epsilon": epsilon,
                     **{f"action_{i}": int(c) for i, c in enumerate(counts)}})
    return pd.DataFrame(rows)


def policy_reward_per_step(policy: np.ndarray, expected_reward: np.ndarray, episode_length: int) -> float:
    """Exact expected reward per step of a deterministic policy from a uniform start state.

    Transitions are deterministic (the next state is the action), so each start state's episode is
    one path; its expected rewards come from ``expected_reward[state, action]``.
    """
    n = expected_reward.shape[0]
    states = np.arange(n)
    total = np.zeros(n)
    for _ in range(episode_length):
        actions = policy[states]
        total += expected_reward[states, actions]
        states = actions
    return float(total.mean() / episode_length)


def random_reward_per_step(expected_reward: np.ndarray) -> float:
    """Expected reward per step of the uniformly random policy.

    Each action is uniform, so the state is uniform at every step and the mean is over all pairs.
    """
    return float(expected_reward.mean())


def oracle_reward_per_step(expected_reward: np.ndarray, episode_length: int) -> tuple[float, np.ndarray]:
    """Best possible expected reward per step, by backward induction over the episode.

    Returns the value and the optimal first-step policy (an oracle that knows the like matrix).
    """
    n = expected_reward.shape[0]
    value = np.zeros(n)
    for _ in range(episode_length):
        # Taking action a from s earns r(s, a) and lands in state a.
        q = expected_reward + value[None, :]
        value = q.max(axis=1)
    return float(value.mean() / episode_length), q.argmax(axis=1)
