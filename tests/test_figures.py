"""Figures that once had defects: the measured criterion behind them, and what they draw."""

import matplotlib
import torch

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

from sslcourse import scoreboard, viz  # noqa: E402
from sslcourse.experiments import context_plots  # noqa: E402


def test_textured_queries_skip_flat_patches_however_saturated():
    g = torch.Generator().manual_seed(0)
    orange = torch.tensor([0.9, 0.45, 0.0])[None, :, None, None].expand(30, 3, 16, 16)  # flat, saturated
    grey_texture = 0.5 + 0.1 * torch.randn(10, 1, 16, 16, generator=g).expand(10, 3, 16, 16)  # textured, grey
    patches = torch.cat([orange, grey_texture])
    picked = context_plots.textured_queries(patches, n=6)
    assert len(picked) == 6 and all(i >= 30 for i in picked), picked


def test_curves_carry_their_error_bars_and_note():
    curves = {"a": {1: 20.0, 10: 30.0}, "b": {1: 80.0, 10: 90.0}}
    errors = {name: {n: 2.5 for n in c} for name, c in curves.items()}
    ax = viz.plot_curves(curves, errors=errors, note="one draw per point")
    bars = [c for c in ax.containers if c.has_yerr]
    assert len(bars) == 2
    assert any("one draw per point" in t.get_text() for t in ax.texts)
    plt.close("all")


def test_image_captions_sit_under_the_pictures():
    images = torch.zeros(4, 3, 32, 32, dtype=torch.uint8)
    ax = viz.image_grid(images, nrow=2, titles=["cat", "dog", "ship", "truck"])
    tops = [t.get_position()[1] for t in ax.texts]
    assert all(y > 32 for y in tops[:2]), tops  # below the first row's 32 pixels (image y grows downwards)
    plt.close("all")


def test_every_floor_and_method_of_the_scoreboard_has_its_own_colour():
    rows = scoreboard.rows()
    looks = {(scoreboard.style(r)["color"], scoreboard.style(r)["floor"]) for r in rows}
    assert len(looks) == len(rows), [(r["name"], scoreboard.style(r)) for r in rows]
