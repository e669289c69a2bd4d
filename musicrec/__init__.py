"""musicrec: a research compendium on music recommendation with reinforcement learning.

The package is thin on purpose: simulated users (``musicrec.users``) and items feed gymnasium
environments (``musicrec.envs``); agents (``musicrec.agents``) come from stable-baselines3 /
sb3-contrib or are small tabular learners; ``musicrec.experiments`` turns configs into cached runs
that the numbered notebooks in ``notebooks/`` read and plot.
"""

__version__ = "0.1.0"
