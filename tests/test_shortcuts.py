"""The two shortcut measurements (sslcourse/experiments/simclr_shortcut.py, mae_shortcut.py): each cue and
baseline against a case whose answer is known, the batching that scores every image once, and the command
lines on a few hundred test images."""

import json

import pytest
import torch

from sslcourse.experiments import mae_shortcut as mae_sc
from sslcourse.experiments import simclr_shortcut as sc
from sslcourse.methods.mae import masked_mse_loss, patchify


def _images(n, seed=0, side=16):
    return torch.rand(n, 3, side, side, generator=torch.Generator().manual_seed(seed))


def test_histograms_are_distributions_and_ignore_where_pixels_sit():
    x = _images(4)
    h = sc.colour_histograms(x)
    assert h.shape == (4, sc.BINS**3) and torch.allclose(h.sum(1), torch.ones(4))
    shuffled = x.flatten(2)[..., torch.randperm(256)].view_as(x)
    assert torch.allclose(sc.colour_histograms(shuffled), h)
    bigger = x.repeat_interleave(2, 2).repeat_interleave(2, 3)  # 4x the pixels, the same distribution
    assert torch.allclose(sc.colour_histograms(bigger), h)


def test_each_matcher_finds_partners_its_cue_keeps_and_never_itself():
    x = _images(16, side=32)
    scrambled = x.flatten(2)[..., torch.randperm(1024)].view_as(x)  # colours kept, layout gone
    found = sc.histogram_match(scrambled, x)
    assert (found == sc.partners(16)).all()
    assert (found != torch.arange(32)).all()
    # smooth images: the layout survives a change of brightness, the histogram does not
    smooth = torch.nn.functional.interpolate(_images(16, seed=1, side=4), size=32, mode="bilinear")
    assert (sc.layout_match(0.5 * smooth, smooth) == sc.partners(16)).all()


def test_batches_score_every_image_once_in_equal_batches():
    index = sc.batches(1000, batch=128, scored=125)
    assert len(index) == 8 and all(len(b) == 128 for b in index)
    scored = torch.cat([b[:125] for b in index])
    assert sorted(scored.tolist()) == list(range(1000))
    with pytest.raises(ValueError, match="do not split"):
        sc.batches(1000, batch=128, scored=120)


def test_a_cell_scores_the_perfect_and_the_hopeless_matcher():
    x = (255 * _images(200, side=32)).to(torch.uint8)
    perfect = sc.retrieval(lambda a, b: sc.partners(len(a)), x, "crop", "color", batch=50)
    assert perfect["top1"] == 100 and perfect["se"] == 0
    self_match = sc.retrieval(lambda a, b: torch.arange(2 * len(a)), x, "crop", "color", batch=50)
    assert self_match["top1"] == 0 and perfect["chance"] == pytest.approx(100 / 99, abs=1e-3)


def test_the_grid_command_writes_both_cues_per_cell_with_provenance(tmp_path):
    out = tmp_path / "grid.json"
    argv = [
        "grid",
        "--device",
        "cpu",
        "--out",
        str(out),
        "--augs",
        "crop,color",
        "--test-subset",
        "500",
        "--batch",
        "100",
    ]
    assert sc.main(argv) == 0
    record = json.loads(out.read_text())
    r = record["results"]
    assert record["command"].startswith("python -m sslcourse.experiments.simclr_shortcut grid")
    assert {"code_version", "data_sha256", "seeds", "device"} <= set(record)
    assert [(c["first"], c["second"]) for c in r["cells"]] == [
        ("crop", "crop"),
        ("crop", "color"),
        ("color", "crop"),
        ("color", "color"),
    ]
    crop, crop_colour = sc.cell(r, "crop", "crop", "histogram"), sc.cell(r, "crop", "color", "histogram")
    assert crop["top1"] - crop_colour["top1"] > 5 * (crop["se"] ** 2 + crop_colour["se"] ** 2) ** 0.5


def test_masks_hide_whole_patches_as_the_course_masks_them():
    mask = mae_sc.patch_masks(5, 0.75)
    assert mask.shape == (5, 64) and (mask.sum(1) == 64 - int(64 * 0.25)).all()
    visible = mae_sc.pixel_mask(mask)
    assert visible.shape == (5, 32, 32)
    assert torch.equal(patchify(visible[:, None].float(), 4).mean(-1), 1 - mask)


def test_the_fills_keep_visible_pixels_and_never_read_hidden_ones():
    x = _images(3, side=32)
    visible = mae_sc.pixel_mask(mae_sc.patch_masks(3, 0.5))
    noisy = torch.where(visible[:, None], x, torch.rand(x.shape))
    for fill in (mae_sc.fill_from_neighbours, mae_sc.fill_with_mean_colour):
        out = fill(x, visible)
        assert torch.equal(out[visible[:, None].expand_as(x)], x[visible[:, None].expand_as(x)])
        assert torch.allclose(fill(noisy, visible), out)
    ramp = torch.linspace(0, 1, 32).view(1, 1, 1, 32).expand(1, 3, 32, 32)  # interpolation nearly restores it
    one = mae_sc.pixel_mask(mae_sc.patch_masks(1, 0.25))
    hidden = ~one[:, None].expand_as(ramp)
    near = (mae_sc.fill_from_neighbours(ramp, one) - ramp).abs()[hidden].mean()
    flat = (mae_sc.fill_with_mean_colour(ramp, one) - ramp).abs()[hidden].mean()
    assert near < 0.05 and near < flat / 4


def test_the_normalised_error_is_the_course_loss_on_normalised_predictions():
    x, pred = _images(4, side=32), _images(4, seed=9, side=32)
    mask = mae_sc.patch_masks(4, 0.75)
    per_image = mae_sc.hidden_errors(pred, x, mask)["normalised"]
    p = patchify(pred, 4)
    p = (p - p.mean(-1, keepdim=True)) / (p.var(-1, keepdim=True) + 1e-6).sqrt()
    assert per_image.mean().item() == pytest.approx(masked_mse_loss(p, patchify(x, 4), mask).item(), rel=1e-4)
    assert mae_sc.hidden_errors(x, x, mask)["normalised"].max() < 1e-6


def test_a_fixed_mask_drives_the_mae_as_random_masking_would():
    from sslcourse.methods.mae import MAE
    from sslcourse.models import vit_tiny

    torch.manual_seed(0)
    model = MAE(vit_tiny(dim=32, depth=1, heads=2), decoder_dim=16, decoder_depth=1, decoder_heads=2).eval()
    x = _images(6, side=32)
    g = torch.Generator().manual_seed(3)
    _, pred, mask = model(x, 0.75, g)
    ours = mae_sc.mae_prediction(model, x, mask, batch=4)
    assert torch.allclose(patchify(ours, 4), pred, atol=1e-5)
    assert model.masking_fn is not None and model.masking_fn.__name__ == "random_masking"


def test_the_ratio_command_writes_every_method_with_its_error(tmp_path):
    out = tmp_path / "ratios.json"
    argv = ["ratios", "--device", "cpu", "--out", str(out), "--ratios", "0.25,0.9", "--test-subset", "200"]
    assert mae_sc.main(argv) == 0
    record = json.loads(out.read_text())
    rows = record["results"]["ratios"]
    assert set(rows) == {"0.25", "0.9"} and record["settings"]["model_card"]["name"] == "mae_vit"
    for row in rows.values():
        assert {"neighbours", "mean colour", "MAE", "MAE minus neighbours"} <= set(row)
    low, high = rows["0.25"]["neighbours"]["normalised"], rows["0.9"]["neighbours"]["normalised"]
    assert high["mean"] - low["mean"] > 3 * (low["se"] ** 2 + high["se"] ** 2) ** 0.5  # harder with more hidden


def test_the_histogram_match_checker_passes_the_reference_and_names_typical_mistakes():
    from sslcourse.checks.simclr import check_histogram_match

    assert check_histogram_match(sc.histogram_match).passed
    itself = check_histogram_match(lambda a, b: torch.arange(2 * len(a)))
    assert not itself.passed and "itself" in itself.message
    layout = check_histogram_match(sc.layout_match)
    assert not layout.passed and "where it sits" in layout.message

    def counts(a, b):  # unnormalised histograms compared by distance
        h = [torch.stack([torch.histc(v, 4, 0, 1) for v in views.flatten(1)]) for views in (a, b)]
        d = torch.cdist(torch.cat(h), torch.cat(h)).fill_diagonal_(float("inf"))
        return d.argmin(1)

    unnormalised = check_histogram_match(counts)
    assert not unnormalised.passed and "share of pixels" in unnormalised.message
    broken = check_histogram_match(lambda a, b: 1 / 0)
    assert not broken.passed and "ZeroDivisionError" in broken.message


def test_the_fill_checker_passes_the_reference_and_names_typical_mistakes():
    from sslcourse.checks.mae import check_fill_from_neighbours

    assert check_fill_from_neighbours(mae_sc.fill_from_neighbours).passed
    mean = check_fill_from_neighbours(mae_sc.fill_with_mean_colour)
    assert not mean.passed and "other baseline" in mean.message
    black = check_fill_from_neighbours(lambda x, v: torch.where(v[:, None], x, torch.zeros_like(x)))
    assert not black.passed and "black" in black.message

    def reads_hidden(x, v):  # a blur of the whole image, hidden pixels included
        blurred = torch.nn.functional.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)
        return torch.where(v[:, None], x, blurred)

    peeks = check_fill_from_neighbours(reads_hidden)
    assert not peeks.passed and "reads the pixels it is meant to guess" in peeks.message


def test_the_shipped_results_plot_on_scales_fixed_by_meaning():
    import matplotlib

    matplotlib.use("Agg")
    from sslcourse.experiments import shortcut_plots

    grid = sc.load_result()
    fig = shortcut_plots.plot_shortcut_grid(grid)
    image = fig.axes[0].images[0]
    assert image.get_clim() == (grid["results"]["chance"], 100)  # chance to 100%, not the cells' own range
    ratios = mae_sc.load_result()
    fig = shortcut_plots.plot_shortcut_ratios(ratios)
    assert len(fig.axes) == 2 and all(ax.get_ylim()[0] == 0 for ax in fig.axes)
    assert grid["clean_tree"] is True and ratios["clean_tree"] is True
    assert len(grid["results"]["cells"]) == 49 and grid["results"]["n_test"] == ratios["results"]["n_test"] == 10000
