"""The whole recommender of the thesis's section 6: songs placed on the feature grid, a trained grid
agent searching it, and the songs it plays judged by a simulated listener.

* :mod:`musicrec.system.song_grid`: songs <-> grid cells (quantile levels, the empty-cell rule).
* :mod:`musicrec.system.playback`: which song a visited position plays (the thesis's rule and the two
  improvements it proposes in sections 6.2 and 7.3).
* :mod:`musicrec.system.evaluation`: every song as a target, all at once, and the per-genre table.

The listener who stands in for the thesis's human is a simulated user:
:mod:`musicrec.users.perceptual`.
"""
