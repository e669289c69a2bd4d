"""Policies of the latent recommender and their evaluation on shared sessions (notebooks 12-13).

* :class:`BaselinePolicy`: ``random`` candidate (or point), ``greedy`` (nearest to the last liked track) and
  the **myopic oracle** (the best true expected reward one step ahead: a baseline, not a ceiling);
* :class:`MoodRulePolicy`: two rules that know the listener's moods and feedback model but not the current
  mood, for the mood change: ``switch_on_dislike`` (memoryless: the current track's mood if it was liked,
  else the other) and ``mood_filter`` (a Bayes filter over the starting mood and the step of the change,
  fed by every like and dislike of the session: the same knowledge with memory);
* :class:`ModelPolicy`: a trained SB3 model acting deterministically;
* the ceiling, :class:`~musicrec.agents.latent_planner.PlannerPolicy` (:func:`baseline_policy` ``"planner"``);
* :func:`evaluate_sessions`: any of them on one session per reset seed, in lockstep batches, with the
  realised and the expected reward of every recommendation.

A policy is called as ``policy(envs, observations) -> actions`` after ``policy.reset(n)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from musicrec.agents.latent_planner import PlannerPolicy
from musicrec.errors import ParameterError, check_choice

BASELINES = ("random", "greedy", "oracle", "planner")
#: Baselines that know the moods and the feedback model (for a listener whose mood changes).
MOOD_RULES = ("switch_on_dislike", "mood_filter")


def baseline_policy(name: str, seed: int = 0, *, planner_width: int = 32):
    """The policy of a baseline: :class:`BaselinePolicy`, or for ``planner`` the ceiling
    (:class:`~musicrec.agents.latent_planner.PlannerPolicy`)."""
    if check_choice("baseline", name, BASELINES + MOOD_RULES) == "planner":
        return PlannerPolicy(width=planner_width)
    if name in MOOD_RULES:
        return MoodRulePolicy(name)
    return BaselinePolicy(name, seed)


class BaselinePolicy:
    """``random`` candidate (or point), ``greedy`` nearest to the last liked track (the current track
    before any like), or ``oracle``: the best true expected reward among the same choices now (the k
    candidates; any unplayed track in the continuous space). The oracle knows the listener's current
    mood but looks one step ahead only (myopic): it is a baseline, not a ceiling."""

    def __init__(self, name: str, seed: int = 0):
        self.name = check_choice("baseline", name, ("random", "greedy", "oracle"))
        self.rng = np.random.default_rng(seed)

    def reset(self, n: int) -> None:
        """Start a batch of ``n`` sessions (nothing to remember)."""

    def __call__(self, envs: Sequence, obs: np.ndarray) -> list:
        return [self.act(env) for env in envs]

    def act(self, env):
        knn = env.actions == "knn"
        if self.name == "random":
            return int(self.rng.integers(env.k)) if knn else self.rng.random(env.latent_dim).astype(np.float32)
        if self.name == "greedy":
            anchor = env.last_liked_track if env.last_liked_track is not None else env.current
            target = env.latents[anchor]
            if knn:
                return int(np.argmin(((env.latents[env.candidates] - target) ** 2).sum(axis=1)))
            return target.copy()
        if knn:
            return int(np.argmax(env.expected_rewards(env.candidates)))
        expected = np.array(env.expected_rewards(), dtype=float)
        expected[env.played] = -np.inf
        return env.latents[int(np.argmax(expected))].copy()


class MoodRulePolicy:
    """Two rules for a :class:`~musicrec.users.listener.TasteListener` of two moods that changes once: they know
    its moods (the expected reward of every track under each), its like model and its window of the change, and
    read the session's likes (not the listened fractions, nor the mood).

    * ``switch_on_dislike`` (no memory): the mood of the current track (the one under which it has the higher
      affinity) if its last feedback was a like, else the other mood; before the first recommendation the
      start track's mood.
    * ``mood_filter`` (memory): the posterior over the starting mood (the listener picks the start track in
      proportion to its like probability) and the step of the change (uniform over the window), updated with
      the likelihood of every like and dislike of the session; it recommends what maximises the expected reward
      under that posterior.

    Both choose among the env's choices (the ``k`` candidates, or any unplayed track in the continuous space).
    """

    def __init__(self, name: str):
        self.name = check_choice("mood rule", name, MOOD_RULES)
        self.reset(0)

    def reset(self, n: int) -> None:
        """Start ``n`` sessions with empty feedback histories."""
        #: per session: the start track, the log prior of the starting mood (2,), the (track, liked) so far
        self.starts: list[int | None] = [None] * n
        self.log_priors: list[np.ndarray | None] = [None] * n
        self.histories: list[list[tuple[int, float]]] = [[] for _ in range(n)]

    def __call__(self, envs: Sequence, obs: np.ndarray) -> list:
        return [self.act(i, env) for i, env in enumerate(envs)]

    @staticmethod
    def _listener(env):
        listener = env.listener
        if getattr(listener, "n_moods", 1) != 2 or getattr(listener, "switch", None) is None:
            raise ParameterError("the mood rules need a listener with two moods and a mood change")
        return listener

    def mood_probability(self, index: int, env) -> float:
        """Probability that the listener is now in mood 1, given session ``index``'s likes so far."""
        listener = self._listener(env)
        affinity = listener.affinity_table
        history = self.histories[index]
        if self.name == "switch_on_dislike":
            if not history:
                return float(affinity[1, self.starts[index]] > affinity[0, self.starts[index]])
            track, liked = history[-1]
            own = int(affinity[1, track] > affinity[0, track])
            return float(own if liked >= 0.5 else 1 - own)
        low, high = listener.switch
        changes = np.arange(low, high + 1)                       # the first step in the new mood

        def moods_at(step: int) -> np.ndarray:
            """The mood at ``step`` under each hypothesis (starting mood x step of the change), (2, changes)."""
            start = np.arange(2)[:, None]
            return np.where(step < changes[None, :], start, 1 - start)

        log_post = self.log_priors[index][:, None] + np.zeros((2, len(changes)))
        for step, (track, liked) in enumerate(history):
            p_like = affinity[moods_at(step), track] ** listener.like_power
            log_post += np.log(np.maximum(p_like if liked >= 0.5 else 1 - p_like, 1e-300))
        post = np.exp(log_post - log_post.max())
        post /= post.sum()
        return float(post[moods_at(len(history)) == 1].sum())

    def act(self, index: int, env):
        if env.steps == 0:
            listener = self._listener(env)
            start = int(env.current)
            # the listener picks the start track in proportion to its like probability in the starting mood
            like = listener.affinity_table ** listener.like_power
            self.histories[index], self.starts[index] = [], start
            self.log_priors[index] = np.log(np.maximum(like[:, start] / like.sum(axis=1), 1e-300))
        else:
            self.histories[index].append((int(env.current), float(env.last_feedback[1])))
        p1 = self.mood_probability(index, env)
        lam = env.lam
        choices = env.candidates if env.actions == "knn" else None
        expected = ((1 - p1) * env.listener.expected_reward(lam, choices, mood=0)
                    + p1 * env.listener.expected_reward(lam, choices, mood=1))
        if env.actions == "knn":
            return int(np.argmax(expected))
        expected = np.array(expected, dtype=float)
        expected[env.played] = -np.inf
        return env.latents[int(np.argmax(expected))].copy()


class ModelPolicy:
    """A trained SB3 model acting deterministically (recurrent models keep their LSTM state).

    A model trained on a continuous env acts in [-1, 1]^d (:func:`musicrec.agents.latent_training.agent_action_scale`
    wraps its env in ``gymnasium.wrappers.RescaleAction``); its actions are mapped back to the latent cube.
    """

    def __init__(self, model):
        self.model = model
        self.state = None
        self.first = True
        self.continuous = not hasattr(model.action_space, "n")

    def reset(self, n: int) -> None:
        self.state, self.first, self.n = None, True, n

    def __call__(self, envs: Sequence, obs: np.ndarray) -> list:
        starts = np.full(len(envs), self.first)
        actions, self.state = self.model.predict(obs, state=self.state, episode_start=starts,
                                                 deterministic=True)
        self.first = False
        if self.continuous:
            actions = np.clip((np.asarray(actions, dtype=np.float32) + 1.0) / 2.0, 0.0, 1.0)
        return list(actions)


def evaluate_sessions(space, kwargs: dict, policy, seeds: Sequence[int], *, batch: int = 100,
                      session_steps: bool = False) -> tuple[pd.DataFrame, ...]:
    """Run ``policy`` on one session per reset seed, ``batch`` sessions in lockstep.

    ``space`` is anything with ``make_env(**kwargs)`` returning a
    :class:`~musicrec.envs.latent.LatentRecommenderEnv` (e.g. :class:`musicrec.agents.latent_training.LatentSpace`).

    Returns ``(sessions, steps)``: one row per session (``session_seed, reward, expected, listened,
    like_rate, switch_at, expected_before, expected_after``) and the mean ``reward, expected, listened,
    liked`` per position in the session. ``reward`` is the realised session reward, ``expected`` the sum
    of the recommended tracks' expected rewards under the listener's mood at each step (the same on
    average, without the listener's noise); ``expected_before`` / ``expected_after`` are its mean per step
    before and from the mood change on (``switch_at``: the first step in the new mood, counted from 0; NaN
    without one). With ``session_steps``, a third frame holds every recommendation's expected reward
    (``session_seed, step, expected``; ``step`` from 0), for curves aligned on each session's mood change.
    """
    rows, per_step, long = [], [], []
    for start in range(0, len(seeds), batch):
        chunk = list(seeds[start:start + batch])
        envs = [space.make_env(**kwargs) for _ in chunk]
        obs = np.stack([env.reset(seed=s)[0] for env, s in zip(envs, chunk)])
        switch = np.array([getattr(env.listener, "switch_at", None) for env in envs], dtype=float)
        policy.reset(len(envs))
        rewards, expected, listened, liked = (np.zeros((len(envs), envs[0].session_length)) for _ in range(4))
        for t in range(envs[0].session_length):
            actions = policy(envs, obs)
            out = [env.step(a) for env, a in zip(envs, actions)]
            obs = np.stack([o[0] for o in out])
            rewards[:, t] = [o[1] for o in out]
            expected[:, t] = [o[4]["expected_reward"] for o in out]
            listened[:, t] = [o[4]["listened"] for o in out]
            liked[:, t] = [o[4]["liked"] for o in out]
        per_step.append(np.stack([rewards, expected, listened, liked]))
        if session_steps:
            long.append(pd.DataFrame({"session_seed": np.repeat(chunk, expected.shape[1]),
                                      "step": np.tile(np.arange(expected.shape[1]), len(chunk)),
                                      "expected": expected.reshape(-1)}))
        after = np.arange(expected.shape[1])[None, :] >= np.nan_to_num(switch, nan=np.inf)[:, None]
        with np.errstate(invalid="ignore"):
            before_mean = np.where(~after, expected, 0).sum(axis=1) / (~after).sum(axis=1)
            after_mean = np.where(after, expected, 0).sum(axis=1) / after.sum(axis=1)
        rows.append(pd.DataFrame({"session_seed": chunk, "reward": rewards.sum(axis=1),
                                  "expected": expected.sum(axis=1), "listened": listened.mean(axis=1),
                                  "like_rate": liked.mean(axis=1), "switch_at": switch,
                                  "expected_before": before_mean, "expected_after": after_mean}))
    steps = np.concatenate(per_step, axis=1).mean(axis=1)
    step_frame = pd.DataFrame({"step": np.arange(1, steps.shape[1] + 1), "reward": steps[0],
                               "expected": steps[1], "listened": steps[2], "liked": steps[3]})
    if session_steps:
        return pd.concat(rows, ignore_index=True), step_frame, pd.concat(long, ignore_index=True)
    return pd.concat(rows, ignore_index=True), step_frame
