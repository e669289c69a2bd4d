"""Where the track-sequence DDPG's time goes (notebook 15's wider DDPG), side by side in one run, ratios printed.

The wider DDPG of notebook 15 (``ddpg_wide`` and its constant-mask and noiseless twins: actor and critic of two
layers of 64 units, batch 512, one update every 4 env steps, 200,000 env steps, 3 seeds each) is most of the
notebook's cost. This script trains it for ``--steps`` env steps on the default profile's simulated sessions
(one torch thread, pinned to one CPU, no evaluation) and splits the CPU time:

- ``SB3 learner``: SB3's ``learn`` as notebook 15 runs it (acting, stepping the session env, updating);
- ``SB3 update``: SB3's ``train`` alone (one gradient step of critic and actor and the target networks);
- ``plain torch update``: the same update of the same networks, optimisers and replay buffer written out in
  torch (batch drawn with ``torch.randint``, targets by ``torch._foreach_lerp_``): the floor of a rewrite;
- ``acting and stepping``: the learner minus its updates;
- ``curve evaluations``: notebook 15's learning curve (the deterministic actor on 500 training and 500
  validation sessions every 500 steps), per env step of a run.

Each as CPU milliseconds per env step (an update counts a quarter, as it comes every 4 steps), with the ratio
to SB3's learner, and the wall minutes the 9 runs of 200,000 steps would take over notebook 15's 2 workers.

    .venv/bin/python benchmarks/session_ddpg.py              # about two minutes
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from musicrec.utils import pin_to_one_cpu  # noqa: E402

RUNS = 9          # ddpg_wide, its constant-mask and noiseless twins, 3 seeds each
RUN_STEPS = 200_000
WORKERS = 2


def _lean_update(model, generator):
    """One DDPG update of ``model``'s networks from its replay buffer, in plain torch; returns the callable."""
    import torch

    buffer = model.replay_buffer
    size = buffer.size()
    obs = torch.as_tensor(buffer.observations[:size, 0])
    actions = torch.as_tensor(buffer.actions[:size, 0])
    rewards = torch.as_tensor(buffer.rewards[:size, 0]).unsqueeze(1)
    next_obs = torch.as_tensor(buffer.next_observations[:size, 0])
    dones = torch.as_tensor(buffer.dones[:size, 0]).unsqueeze(1)
    online = list(model.actor.parameters()) + list(model.critic.parameters())
    target = list(model.actor_target.parameters()) + list(model.critic_target.parameters())
    batch, gamma, tau = int(model.batch_size), float(model.gamma), float(model.tau)

    def update():
        index = torch.randint(0, size, (batch,), generator=generator)
        o, a, r, n, d = obs[index], actions[index], rewards[index], next_obs[index], dones[index]
        with torch.no_grad():
            q_next = model.critic_target(n, model.actor_target(n))[0]
            y = r + gamma * (1 - d) * q_next
        critic_loss = ((model.critic(o, a)[0] - y) ** 2).mean()
        model.critic.optimizer.zero_grad(set_to_none=True)
        critic_loss.backward()
        model.critic.optimizer.step()
        actor_loss = -model.critic.q1_forward(o, model.actor(o)).mean()
        model.actor.optimizer.zero_grad(set_to_none=True)
        actor_loss.backward()
        model.actor.optimizer.step()
        with torch.no_grad():
            torch._foreach_lerp_(target, online, tau)

    return update


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20_000, help="env steps of the timed SB3 learner")
    parser.add_argument("--updates", type=int, default=2_000, help="updates timed alone, each way")
    args = parser.parse_args()
    pin_to_one_cpu()

    import pandas as pd
    import torch

    from musicrec.agents.sb3 import train
    from musicrec.agents.session_ddpg import train_session_ddpg  # noqa: F401  (registers the preset)
    from musicrec.envs.sessions import SessionTrackEnv, unit_rows
    from musicrec.experiments import sessions
    from musicrec.models.word2vec import train_word2vec
    from musicrec.utils import setup_torch

    setup_torch("cpu")
    budget = sessions.as_budget("default")
    with tempfile.TemporaryDirectory() as runs:
        data = sessions.load_data(budget, runs)
    arch = budget["architecture"]
    embedding = unit_rows(train_word2vec(data.train, data.n_tokens, dim=int(arch["ddpg_dim"]),
                                         window=int(arch["ddpg_window"]), epochs=int(arch["word2vec_epochs"]), seed=0))
    agent, _ = sessions.ddpg_specs("sequence", "ddpg_wide", budget)
    agent = {**agent, "total_timesteps": int(args.steps)}

    from stable_baselines3.common.monitor import Monitor
    from stable_baselines3.common.vec_env import DummyVecEnv

    def factory(env_config, n_envs, env_seed):
        envs = DummyVecEnv([lambda: Monitor(SessionTrackEnv(data.train, embedding)) for _ in range(n_envs)])
        envs.seed(env_seed)
        return envs

    load = os.getloadavg()[0]
    cpu = time.process_time()
    result = train(agent, {"id": sessions.ddpg_specs("sequence", "ddpg_wide", budget)[1]["id"], "kwargs": {}},
                   0, None, progress_bar=False, vec_env_factory=factory)
    learner_s = time.process_time() - cpu
    model = result.model
    steps = int(model.num_timesteps)
    every = int(model.train_freq.frequency)

    cpu = time.process_time()
    model.train(gradient_steps=args.updates, batch_size=model.batch_size)
    sb3_update_s = (time.process_time() - cpu) / args.updates

    from musicrec.agents.session_ddpg import session_scores

    probe = data.train.subset(slice(0, int(budget["eval_train"])))
    curve_valid = data.valid.subset(slice(0, int(budget["eval_valid"])))
    cpu = time.process_time()
    for arrays in (probe, curve_valid):
        session_scores(model, "sequence", arrays, embedding)
    evaluation_s = time.process_time() - cpu
    evaluations = RUN_STEPS // int(budget["training"]["ddpg_sequence_eval_every"]) + 1

    update = _lean_update(model, torch.Generator().manual_seed(0))
    for _ in range(50):
        update()
    cpu = time.process_time()
    for _ in range(args.updates):
        update()
    lean_update_s = (time.process_time() - cpu) / args.updates

    learner = learner_s / steps
    updates_in_learner = sb3_update_s * (steps - model.learning_starts) / every / steps
    rows = [("SB3 learner (notebook 15)", learner),
            ("SB3 update alone", updates_in_learner),
            ("plain torch update alone", lean_update_s * (steps - model.learning_starts) / every / steps),
            ("acting and stepping", learner - updates_in_learner),
            ("acting and stepping + plain torch update", learner - updates_in_learner
             + lean_update_s * (steps - model.learning_starts) / every / steps),
            (f"curve evaluations ({evaluations} per run)", evaluation_s * evaluations / RUN_STEPS)]
    table = pd.DataFrame([{"case": case, "cpu_ms_per_env_step": round(1e3 * s, 3),
                           "ratio_to_sb3_learner": round(s / learner, 2),
                           f"wall_min_{RUNS}_runs_{WORKERS}_workers": round(RUNS * RUN_STEPS * s / WORKERS / 60, 1)}
                          for case, s in rows])
    print(f"wider DDPG on the default sessions, {steps} env steps timed, one update every {every} steps, batch "
          f"{model.batch_size}; load average {load:.2f}")
    print(f"per update: SB3 {1e3 * sb3_update_s:.2f} ms, plain torch {1e3 * lean_update_s:.2f} ms "
          f"({sb3_update_s / lean_update_s:.2f}x)")
    print(f"one curve evaluation ({len(probe.n_second)} training and {len(curve_valid.n_second)} validation "
          f"sessions): {evaluation_s:.2f} CPU s")
    print(table.to_string(index=False))


if __name__ == "__main__":
    main()
