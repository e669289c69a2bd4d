"""The sentences of notebook 02 are written from hand-made tables here, so each number can be checked."""

import numpy as np
import pandas as pd

from musicrec.prose import grid_environment as prose

COUNTS = pd.DataFrame({"dims": [2, 2, 3, 3], "target_mode": ["TopTarget", "WiderTopTarget"] * 2,
                       "min": [1, 3, 1, 7], "mean": [1.0, 4.2, 1.0, 13.6], "max": [1, 5, 1, 19],
                       "min_pct": [4.0, 12.0, 0.8, 5.6], "max_pct": [4.0, 20.0, 0.8, 15.2]})
CENTRE = pd.Series([12, 0, 8, 0, 5], index=range(5))


def _reference(**changes):
    rows = [
        (2, "top", "bullseye", True, 194.0, 194.0, 9.4, np.nan, 194.0, 100.0, 168.0, 48.0, "GridObs A2C", 86.6),
        (2, "wider", "bullseye", True, 201.6, 201.6, 8.3, np.nan, 201.2, 99.8, 192.0, 11.0, "BoardObs A2C", 95.2),
        (3, "top", "bullseye", False, 180.0, 185.0, np.nan, 2.0, 180.0, 97.3, np.nan, np.nan, np.nan, np.nan),
        (3, "wider", "bullseye", True, 198.3, 198.3, 9.3, np.nan, 198.2, 99.9, np.nan, np.nan, np.nan, np.nan),
    ]
    table = pd.DataFrame(rows, columns=["dims", "target", "reward", "optimum_exact", "optimum_lower", "optimum_upper",
                                        "optimum_std", "optimum_depth", "rule_mean", "rule_pct_low", "thesis_mean",
                                        "thesis_std", "thesis_setting", "thesis_pct_low"])
    for column, value in changes.items():
        table[column] = value
    return table


CLOSER = pd.DataFrame({"dims": [2, 2, 3], "target": ["top", "wider", "top"], "reward": ["bullseye"] * 3,
                       "optimum_grid": [194.0, 201.6, 183.4], "optimum_board": [194.0, 201.6, 182.4]})


def test_rating_counts_in_sentences():
    text = prose.rating_count_sentences(COUNTS, CENTRE, levels=5)
    assert "exactly one position (the target) rates 4, for every target in 2D-3D" in text
    assert "WiderTopTarget in 2D: 3-5 of the 25 positions (12.0-20.0%, 4.2 on average)" in text
    assert "no position rates 1 or 3" in text
    assert "exactly one" not in prose.rating_count_sentences(COUNTS.assign(max=2), CENTRE, levels=5)


def test_comparison_with_the_thesis_is_written_from_the_tables():
    text = prose.comparison_with_thesis(reference=_reference(), counts=COUNTS, closer=CLOSER, centre=CENTRE,
                                       levels=5, episode_length=21)
    bullets = text.split("\n")
    assert all(b.startswith("* **") for b in bullets) and len(bullets) == 7
    assert "3-5 positions (12-20%) rating 4, and the centre target gets no rating 1 or 3" in bullets[0]
    assert "its optimum is higher in every dimension" in bullets[0]  # 201.6 > 194 and 198.3 > 185
    assert ("exact optimum is 194.00 (TopTarget, Bullseye) and 201.60 (WiderTopTarget, Bullseye), out of 210"
            in bullets[1])
    assert "(192, BoardObs A2C) reaches 95.2% of the optimum" in bullets[2]
    assert "192 ± 11, 189 ± 23, 188 ± 8" in bullets[3] and "An optimal policy has 8.3" in bullets[3]
    assert "reaches 99.8-100.0% of the optimum wherever the optimum is exact (2D-3D)" in bullets[4]
    assert "equals it in 2D TopTarget/Bullseye" in bullets[4] and "(194.0 vs 168, 201.2 vs 192)" in bullets[4]
    assert "§7.1.1" in bullets[4] and "here it does" in bullets[4]
    assert "**3D TopTarget**" in bullets[5] and "[180.00, 185.00] for Bullseye" in bullets[5]
    assert "searched exactly for 2 decisions" in bullets[5]
    assert "nothing in 2D; at most 1.00 points (0.55%) in 3D (TopTarget/Bullseye)" in bullets[6]
    assert "non-recurrent BoardObs agents reached 253 (A2C) and 280 (ACKTR), beside 300 (A2C)" in bullets[6]


def test_the_comparison_says_less_where_the_results_do_not_support_it():
    worse = _reference(rule_mean=[160.0, 190.0, 180.0, 198.2])
    text = prose.comparison_with_thesis(reference=worse, counts=COUNTS, closer=CLOSER, centre=CENTRE,
                                       levels=5, episode_length=21)
    assert "beats the best thesis agent in 0 of 2 configurations" in text and "here it does" not in text
    upside_down = _reference(optimum_lower=[194.0, 150.0, 180.0, 150.0], optimum_upper=[194.0, 150.0, 185.0, 150.0])
    text = prose.comparison_with_thesis(reference=upside_down, counts=COUNTS, closer=CLOSER, centre=CENTRE,
                                       levels=5, episode_length=21)
    assert "easier task" not in text


def test_value_ranges():
    assert prose.value_range(12.0, 12.04) == "12.0" and prose.value_range(12.0, 20.0, 0) == "12-20"
