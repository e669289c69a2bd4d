"""Agents: a tabular Q-learner and the SB3 / sb3-contrib algorithms behind one ``train``."""
