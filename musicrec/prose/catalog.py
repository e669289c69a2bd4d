"""Sentences of notebook 16: the synthetic catalog's hand-set genre means against real tracks, and the VAEs."""

from __future__ import annotations

import pandas as pd

from musicrec.prose.features import join_names, need_columns


def comparison_sentences(comparison: pd.DataFrame) -> str:
    """``comparison``: ``feature``, ``genre``, ``synthetic_mean``, ``real_mean``, ``real_sd``, ``tracks``,
    ``difference``, ``within_sd`` (:func:`musicrec.experiments.real_catalog.genre_comparison`)."""
    need_columns(comparison, ["feature", "genre", "synthetic_mean", "real_mean", "real_sd", "tracks", "difference",
                              "within_sd"], "comparison")
    lines = []
    share = comparison.within_sd.mean()
    lines.append(f"* {int(comparison.within_sd.sum())} of the {len(comparison)} (feature, genre) means of the synthetic "
                 f"catalog ({100 * share:.0f}%) lie within one standard deviation of the real tracks' mean.")
    for feature, rows in comparison.groupby("feature", sort=False):
        off = rows[~rows.within_sd]
        if len(off) == 0:
            continue
        worst = off.loc[off.difference.abs().idxmax()]
        lines.append(f"* **{feature}**: off for {join_names(off.genre.tolist())}; the largest gap is {worst.genre}'s "
                     f"(synthetic {worst.synthetic_mean:.2f}, real {worst.real_mean:.2f} ± {worst.real_sd:.2f} over "
                     f"{int(worst.tracks)} tracks).")
    return "\n".join(lines)


def vae_sentences(reconstruction: pd.DataFrame) -> str:
    """``reconstruction``: ``feature``, ``real``, ``synthetic`` (validation MSE of the two VAEs, normalised units)."""
    need_columns(reconstruction, ["feature", "real", "synthetic"], "reconstruction")
    better = reconstruction[reconstruction.real < reconstruction.synthetic].feature.tolist()
    return (f"* Validation reconstruction error summed over the 11 features: real catalog "
            f"{reconstruction.real.sum():.3f}, synthetic catalog {reconstruction.synthetic.sum():.3f}; the real catalog's "
            f"VAE reconstructs {join_names(better) if better else 'no feature'} better than the synthetic one's.")
