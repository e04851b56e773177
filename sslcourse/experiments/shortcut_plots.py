"""The two shortcut measurements as figures: SimCLR's matching cues over the Figure 5 grid
(`sslcourse.experiments.simclr_shortcut`), MAE's reconstruction error against the masking ratio
(`sslcourse.experiments.mae_shortcut`). Both scales are fixed by what the numbers mean (chance and 100%; zero
and "knowing nothing"), never stretched to the spread of the measured values."""

from __future__ import annotations

from sslcourse.experiments import mae_shortcut, simclr_shortcut

CUE_TITLES = {
    "histogram": "colour histogram alone (no position)",
    "layout": "coarse layout alone (8x8 pixels, cosine)",
}
METHOD_STYLE = {"neighbours": ("C0", "o"), "mean colour": ("C2", "s"), "MAE": ("C3", "^")}


def plot_shortcut_grid(result: dict, cues=simclr_shortcut.CUES):
    """One heatmap per cue: top-1 retrieval (%) of each view's partner among the 2N - 1 others, rows the first
    operation, columns the second. Colour runs from chance to 100%; each cell prints its accuracy and, under it,
    two standard errors."""
    import matplotlib.pyplot as plt

    r = result["results"]
    names, low = r["augmentations"], r["chance"]
    fig, axes = plt.subplots(1, len(cues), figsize=(5.2 * len(cues) + 0.6, 5.2), squeeze=False, layout="constrained")
    for k, (ax, cue) in enumerate(zip(axes[0], cues)):
        m = simclr_shortcut.matrix(r, cue)
        se = simclr_shortcut.matrix(r, cue, "se")
        im = ax.imshow(m.numpy(), cmap="viridis", vmin=low, vmax=100)
        for i in range(len(names)):
            for j in range(len(names)):
                value = float(m[i, j])
                colour = "black" if value > 55 else "white"
                ax.text(
                    j, i, f"{value:.0f}\n±{2 * float(se[i, j]):.1f}", ha="center", va="center", fontsize=7, color=colour
                )
        ax.set_xticks(range(len(names)), names, rotation=45, ha="right")
        ax.set_yticks(range(len(names)), names)
        ax.set_xlabel("2nd transformation (applied after the 1st)")
        if k == 0:
            ax.set_ylabel("1st transformation")
        ax.set_title(CUE_TITLES.get(cue, cue), fontsize=9)
    bar = fig.colorbar(im, ax=list(axes[0]), fraction=0.025)
    bar.set_label(f"top-1 retrieval (%): from chance ({low:.1f}) to 100")
    fig.suptitle(
        f"SimCLR's task solved without a network: each view finds its partner among {2 * r['batch'] - 1} others "
        f"by one cue\none branch transformed, the other the image itself; all {r['n_test']:,} test images; "
        f"± under each cell: 2 standard errors (over {r['n_test'] // r['scored_per_batch']} batches)",
        fontsize=9,
    )
    return fig


def plot_shortcut_ratios(result: dict, metrics=("normalised", "pixels")):
    """Reconstruction error on the hidden patches against the masking ratio: neighbour fill, mean colour and
    the shipped MAE, each with ± 2 standard errors; one panel per metric."""
    import matplotlib.pyplot as plt

    rows = result["results"]["ratios"]
    methods = [m for m in ("neighbours", "mean colour", "MAE") if any(m in row for row in rows.values())]
    fig, axes = plt.subplots(1, len(metrics), figsize=(5.0 * len(metrics), 3.6), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        for method in methods:
            x, y, se = mae_shortcut.series(result, method, metric)
            colour, marker = METHOD_STYLE[method]
            card = result.get("settings", {}).get("model_card") or {}
            trained = (
                f"shipped {card.get('name', 'model')}, trained on {card.get('trained_on', 'a device not recorded')}"
            )
            label = method + (f" ({trained})" if method == "MAE" else "")
            ax.errorbar(
                [100 * v for v in x],
                y,
                yerr=[2 * s for s in se],
                fmt=f"{marker}-",
                color=colour,
                capsize=3,
                label=label,
            )
        if metric == "normalised":
            ax.axhline(1, color="grey", lw=0.8, ls=":", label="a flat guess (knowing nothing): 1")
            ax.set_ylabel("error on hidden patches\n(course's loss: per-patch normalised)")
        else:
            ax.set_ylabel("error on hidden patches\n(mean squared, raw pixels in [0, 1])")
        ax.set_ylim(0, None)
        ax.set_xlabel("masking ratio (%)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle(
        f"filling the hidden patches: interpolation, mean colour, the shipped MAE\nall "
        f"{result['results']['n_test']:,} test images, the same masks for all three; bars: ± 2 standard errors "
        f"(computed on {result.get('computed_on', 'CPU')})",
        fontsize=9,
    )
    fig.tight_layout()
    return fig
