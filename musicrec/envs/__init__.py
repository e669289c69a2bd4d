"""Gymnasium environments of the compendium, registered under the ``musicrec/`` namespace.

Importing :mod:`musicrec.envs` registers every id; entry points are strings, so an environment's
module is imported only when ``gymnasium.make`` asks for it.

>>> import gymnasium, musicrec.envs
>>> env = gymnasium.make("musicrec/Genre-v0", user="pop_lover")
"""

from __future__ import annotations

import gymnasium

ENV_IDS = {
    "musicrec/Genre-v0": "musicrec.envs.genre:GenreEnv",
    "musicrec/FeatureGrid-v0": "musicrec.envs.grid:FeatureGridEnv",
    "musicrec/LatentRecommender-v0": "musicrec.envs.latent:LatentRecommenderEnv",
    "musicrec/SessionSkip-v0": "musicrec.envs.sessions:SessionSkipEnv",
    "musicrec/SessionTrack-v0": "musicrec.envs.sessions:SessionTrackEnv",
}


def register_envs() -> None:
    """Register every musicrec environment id with gymnasium (idempotent)."""
    for env_id, entry_point in ENV_IDS.items():
        if env_id not in gymnasium.registry:
            gymnasium.register(id=env_id, entry_point=entry_point)


register_envs()
