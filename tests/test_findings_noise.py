"""Every finding's error bars, recomputed here from the raw shipped results with `sslcourse.stats` alone: the
findings cannot carry an error bar the statistics module would not give."""

import json
import math

import pytest

from sslcourse import findings, stats

q = stats.independent_difference_se


def _raw(relative: str) -> dict:
    return json.loads((findings.RESULTS / relative).read_text())


def _se(row: dict, key: str, n: int) -> float:
    """An accuracy's SE: the binomial one, with the seeds' spread where the row holds several seeds."""
    return stats.mean_over_seeds(row.get(key + "_seeds") or [row[key]], n)[1]


def _gap_jitter():
    r = _raw("context/gap_jitter.json")["results"]
    v, n = r["variants"], r["n_test"]
    cured, short = v["cured"], v["no gap, no jitter"]
    return [
        q(_se(short, "pretext_top1", n), _se(cured, "pretext_top1", n)),
        q(_se(cured, "pretext_top1", n), _se(short, "pretext_top1_cured_pairs", n)),
        q(_se(cured, "linear_top1", n), _se(short, "linear_top1", n)),
    ]


def _aberration():
    bound = stats.bounded_se(100 * math.sqrt(2), _raw("context/aberration.json")["results"]["n_test"])
    return [q(bound, bound)] * 2


def _colourfulness():
    bound = stats.bounded_se(130, _raw("colorization/losses.json")["results"]["n_test"])
    return [q(bound, bound)] * 2


def _rarity():
    rows = _raw("colorization/losses.json")["results"]["rows"]
    bound = stats.bounded_se(100, _raw("colorization/rarity.json")["results"]["effective_images"])
    se = {k: rows[k].get("auc_rebalanced_se") or bound for k in ("l2", "classification", "rebalanced")}
    rival = max(("l2", "classification"), key=lambda k: rows[k]["auc_rebalanced"])
    return [q(se["rebalanced"], se[rival])]


def _pair():
    g = _raw("simclr/augmentation_grid.json")
    n = g["settings"]["n_test"]
    cells = {(c["first"], c["second"]): c for c in g["cells"]}
    key = next(k for k in cells if set(k) == {"crop", "color"})
    rival = max((k for k in cells if set(k) != {"crop", "color"}), key=lambda k: cells[k]["linear_top1"])
    return [q(_se(cells[key], "linear_top1", n), _se(cells[rival], "linear_top1", n))]


def _head():
    h = _raw("simclr/head.json")
    n, runs = h["settings"]["n_test"], {r["head"]: r for r in h["runs"]}
    mlp = _se(runs["mlp"]["h"], "linear_top1", n)
    out = [q(mlp, _se(runs["mlp"]["z"], "linear_top1", n))]
    out += [q(mlp, _se(runs[k]["h"], "linear_top1", n)) for k in ("none", "linear") if k in runs]
    return out


def _temperature():
    t = _raw("simclr/temperature.json")
    n, runs = t["settings"]["n_test"], sorted(t["runs"], key=lambda r: r["temperature"])
    ends = (runs[0], runs[-1])
    middle = max(runs[1:-1], key=lambda r: r["linear_top1"])
    end = max(ends, key=lambda r: r["linear_top1"])
    return [q(_se(middle, "linear_top1", n), _se(end, "linear_top1", n))]


def _ratio():
    r = _raw("mae/sweep.json")["results"]
    ratios, n = {float(k): v for k, v in r["ratios"].items()}, r["n_test"]
    rival = max((k for k in ratios if k < 0.75), key=lambda k: ratios[k]["linear_top1"])
    return [q(_se(ratios[0.75], "linear_top1", n), _se(ratios[rival], "linear_top1", n))]


def _finetune():
    r = _raw("mae/finetune.json")["results"]
    n = r["n_test"]
    return [q(_se(r["mae"], k, n), _se(r["scratch"], k, n)) for k in ("test_top1", "linear_top1")]


def _cost():
    return [_raw("mae/cost.json")["results"].get("speedup_se")]


def _bet():
    a, b = _raw("protocol/simclr_resnet18.json")["metrics"], _raw("protocol/supervised_resnet18.json")["metrics"]
    return [q(stats.binomial_se(a["linear_top1"], a["n_test"]), stats.binomial_se(b["linear_top1"], b["n_test"]))]


def _colour_shortcut():
    cells = {(c["first"], c["second"]): c for c in _raw("simclr/shortcut_grid.json")["results"]["cells"]}
    return [q(cells["crop", "crop"]["histogram"]["se"], cells["crop", "color"]["histogram"]["se"])]


def _interpolation_shortcut():
    ratios = {
        float(k): v["neighbours"]["normalised"]
        for k, v in _raw("mae/shortcut_ratios.json")["results"]["ratios"].items()
    }
    return [q(100 * ratios[0.75]["se"], 100 * ratios[min(ratios)]["se"])]


def _laptop_curve():
    record = _raw("simclr/laptop_curve.json")
    n = record["settings"]["n_test"]
    longest = max(record["results"]["steps"])
    ses = [
        stats.mean_over_seeds(b["linear_top1_seeds"], n)[1]
        for p in record["results"]["pipelines"].values()
        for b in p["by_steps"]
        if b["steps"] == longest
    ]
    return [q(*ses)]


RECOMPUTE = {
    "simclr_laptop_curve": _laptop_curve,
    "context_gap_jitter": _gap_jitter,
    "context_aberration": _aberration,
    "colorization_colourfulness": _colourfulness,
    "colorization_rarity": _rarity,
    "simclr_pair": _pair,
    "simclr_colour_shortcut": _colour_shortcut,
    "simclr_head": _head,
    "simclr_temperature": _temperature,
    "mae_ratio": _ratio,
    "mae_interpolation_shortcut": _interpolation_shortcut,
    "mae_finetune_vs_scratch": _finetune,
    "mae_cost": _cost,
    "the_bet": _bet,
}


def test_every_claim_is_recomputed_here():
    assert {c.name for c in findings.CLAIMS} == set(RECOMPUTE)


@pytest.mark.parametrize("name", sorted(RECOMPUTE))
def test_a_findings_error_bars_are_the_statistics_modules(name):
    f = findings.judged(name)
    if f.verdict == "not measured":
        pytest.skip(f"{name}: {f.ours}")
    assert [e.diff.se for e in f.effects] == pytest.approx(RECOMPUTE[name]())


def test_the_rarity_weighted_auc_rests_on_its_effective_images():
    """1/p weights leave about 133 effective images of 10,000: the error bar is that of ~133 images, not 10,000."""
    rarity = _raw("colorization/rarity.json")["results"]
    assert rarity["effective_images"] < rarity["n_test"] / 20
    f = findings.judged("colorization_rarity")
    assert f"{rarity['effective_images']:.0f} effective images" in f.ours
    assert f.effects[0].diff.se > 4 * stats.bounded_se(100, rarity["n_test"])
