"""The thesis's figure 32 (the combined system), drawn from the components this compendium runs."""

from __future__ import annotations

from collections.abc import Sequence


def draw_system(ax, *, tagger: str, layer: str, width: int, dims: int, levels: int, agent: str,
                listeners: Sequence[str]) -> None:
    """Boxes and arrows on ``ax``: audio -> tagger layer -> PCA -> grid levels <-> agent + ideal user;
    position -> playback rule -> song -> listeners (whose ratings are recorded, never fed back)."""
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    ax.set_xlim(0, 12)
    ax.set_ylim(0, 6.4)
    ax.axis("off")
    boxes = {
        "audio": (0.2, 4.6, "30-s clips\n(corpus, GTZAN layout)"),
        "tagger": (2.6, 4.6, f"tagger {tagger}\nlayer {layer} ({width}-D)"),
        "pca": (5.0, 4.6, f"z-score + PCA\nto {dims}-D"),
        "grid": (7.4, 4.6, f"{levels} quantile levels\nper feature: {levels}^{dims} cells"),
        "agent": (7.4, 2.4, f"grid agent\n{agent}"),
        "ideal": (9.9, 2.4, "ideal user\n(rating 0-4, closer)"),
        "play": (5.0, 2.4, "playback rule\n(position -> song)"),
        "listen": (2.6, 0.3, "listeners: " + ", ".join(listeners) + "\n(ratings recorded, not fed back)"),
        "song": (2.6, 2.4, "song played"),
    }
    for key, (x, y, text) in boxes.items():
        w = 4.6 if key == "listen" else 2.0
        ax.add_patch(FancyBboxPatch((x, y), w, 1.3, boxstyle="round,pad=0.05", fc="#eef3fb" if key != "agent" else "#fde9d9",
                                    ec="0.3"))
        ax.text(x + w / 2, y + 0.65, text, ha="center", va="center", fontsize=8.5)

    def arrow(a, b, text="", rad=0.0):
        ax.add_patch(FancyArrowPatch(a, b, arrowstyle="-|>", mutation_scale=12, color="0.25",
                                     connectionstyle=f"arc3,rad={rad}"))
        if text:
            ax.text((a[0] + b[0]) / 2, (a[1] + b[1]) / 2 + 0.12, text, ha="center", fontsize=7.5, color="0.25")

    arrow((2.2, 5.25), (2.6, 5.25))
    arrow((4.6, 5.25), (5.0, 5.25))
    arrow((7.0, 5.25), (7.4, 5.25))
    arrow((8.4, 4.6), (8.4, 3.7), "song cells")
    arrow((9.4, 3.3), (9.9, 3.3), "position")
    arrow((9.9, 2.8), (9.4, 2.8), "feedback")
    arrow((7.4, 3.05), (7.0, 3.05), "position")
    arrow((5.0, 3.05), (4.6, 3.05))
    arrow((3.6, 2.4), (3.6, 1.6))
