"""Experiments: configs in, cached runs out (see ``musicrec.runs``); the notebooks call these."""
