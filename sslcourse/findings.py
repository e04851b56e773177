"""The papers' findings beside ours: did each claim reproduce at the course's scale?

Every finding reads the results the repository ships (`sslcourse/results/...`, each written by a command
anyone can rerun) and judges the paper's claim against them; nothing here is typed in by hand except
what the papers say. A finding whose results are not shipped says so instead of guessing.

    from sslcourse import findings
    print(findings.table())            # one line per claim: paper, ours, verdict, scale
    rows = findings.evaluate_all()     # the same as dicts

A verdict is "reproduced", "not reproduced", or "too close to call" when the numbers differ by less than
`NOISE` points, the spread we see between seeds of our short runs; it also says where the numbers were
computed ("CPU" marks the small runs that keep a notebook honest while the GPU runs are pending).
"""
from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

RESULTS = Path(__file__).resolve().parent / "results"
NOISE = 1.0  # accuracy points: differences below this are not read as findings


@dataclass(frozen=True)
class Finding:
    topic: str
    paper: str  # what the paper found, in our words
    ours: str  # what we measured, with the numbers
    verdict: str  # "reproduced" | "not reproduced" | "too close to call" | "not measured"
    scale: str  # where and how big: "GPU", "CPU (small run)", ...
    why: str = ""  # when it did not reproduce: what might explain it


_FINDINGS: list[Callable[[], Finding]] = []


def finding(fn: Callable[[], Finding]) -> Callable[[], Finding]:
    _FINDINGS.append(fn)
    return fn


def _load(relative: str) -> dict | None:
    path = RESULTS / relative
    return json.loads(path.read_text()) if path.is_file() else None


def _scale(result: dict) -> str:
    on = result.get("computed_on", "?")
    return "GPU" if on == "GPU" else f"{on} (small run)"


def _judge(difference: float, expected_positive: bool = True) -> str:
    """The verdict for a claim 'this is larger than that', given the measured difference in points."""
    if abs(difference) < NOISE:
        return "too close to call"
    return "reproduced" if (difference > 0) == expected_positive else "not reproduced"


def _missing(topic: str, paper: str, what: str) -> Finding:
    return Finding(topic, paper, f"no shipped result yet ({what})", "not measured", "-")


# --------------------------------------------------------------------------- context prediction
@finding
def context_gap_jitter() -> Finding:
    topic = "context"
    paper = "without a gap and jitter the puzzle is easier (edges continue) and the features are worse"
    gj = _load("context/gap_jitter.json")
    if gj is None:
        return _missing(topic, paper, "python -m sslcourse.experiments.context gapjitter")
    v = gj["results"]["variants"]
    cured, shortcut = v["cured"], v["no gap, no jitter"]
    easier = shortcut["pretext_top1"] - cured["pretext_top1"]
    better = cured["linear_top1"] - shortcut["linear_top1"]
    ours = (f"pretext {shortcut['pretext_top1']:.1f}% without vs {cured['pretext_top1']:.1f}% with gap and jitter; "
            f"linear probe {shortcut['linear_top1']:.1f}% vs {cured['linear_top1']:.1f}%")
    verdicts = {_judge(easier), _judge(better)}
    verdict = verdicts.pop() if len(verdicts) == 1 else "partly"
    why = "" if verdict == "reproduced" else "a few epochs of a narrow network on upsampled 32-pixel images"
    return Finding(topic, paper, ours, verdict, _scale(gj), why)


@finding
def context_aberration() -> Finding:
    topic = "context"
    paper = ("chromatic aberration gives a patch's position away (error .255 vs .371 guessing the centre); "
             "projecting out green-magenta takes most of it back (.321)")
    ab = _load("context/aberration.json")
    if ab is None:
        return _missing(topic, paper, "python -m sslcourse.experiments.context aberration")
    c = ab["results"]["conditions"]
    raw, projected = c["aberrated, raw colour"], c["aberrated, projected"]
    centre = raw["centre_error"]
    ours = f"error {raw['error']:.3f} raw, {projected['error']:.3f} projected, {centre:.3f} centre guess"
    # Errors are fractions of the image: 0.01 plays the part of one accuracy point.
    gives_away, cure = centre - raw["error"], projected["error"] - raw["error"]
    verdict = "reproduced" if gives_away > 0.01 and cure > 0.01 else "not reproduced"
    why = ("" if verdict == "reproduced" else
           "our simulated aberration is a pure green-magenta shift, so the cure removes all of it")
    return Finding(topic, paper, ours, verdict, _scale(ab), why)


# --------------------------------------------------------------------------- colorization
@finding
def colorization_colourfulness() -> Finding:
    topic = "colorization"
    paper = "L2 regression gives the greyest colours, classification more vivid ones, rebalancing the most vivid"
    m = _load("colorization/losses.json")
    if m is None:
        return _missing(topic, paper, "python -m sslcourse.experiments.colorization measure")
    rows = m["results"]["rows"]
    chroma = {k: rows[k]["mean_chroma"] for k in ("l2", "classification", "rebalanced")}
    ours = (f"mean chroma L2 {chroma['l2']:.1f}, classification {chroma['classification']:.1f}, rebalanced "
            f"{chroma['rebalanced']:.1f} (ground truth {rows['ground truth']['mean_chroma']:.1f})")
    steps = [_judge(chroma["classification"] - chroma["l2"]), _judge(chroma["rebalanced"] - chroma["classification"])]
    verdict = steps[0] if steps[0] == steps[1] else ("partly: rebalanced is the most vivid"
                                                       if steps[1] == "reproduced" else "partly")
    why = "" if verdict == "reproduced" else ("a short CPU run: the classifier still puts most mass on the "
                                              "common, dull bins, and the annealed mean keeps it there")
    return Finding(topic, paper, ours, verdict, _scale(m), why)


@finding
def colorization_rarity() -> Finding:
    topic = "colorization"
    paper = "rebalancing wins per-pixel accuracy once pixels are weighted by the rarity of their colour"
    m = _load("colorization/losses.json")
    if m is None:
        return _missing(topic, paper, "python -m sslcourse.experiments.colorization measure")
    rows = m["results"]["rows"]
    auc = {k: rows[k]["auc_rebalanced"] for k in ("l2", "classification", "rebalanced")}
    ours = ", ".join(f"{k} {v:.1f}" for k, v in auc.items()) + " (rarity-weighted AuC, %)"
    verdict = _judge(auc["rebalanced"] - max(auc["l2"], auc["classification"]))
    why = "" if verdict == "reproduced" else "short CPU runs on 32-pixel images"
    return Finding(topic, paper, ours, verdict, _scale(m), why)


# --------------------------------------------------------------------------- SimCLR
@finding
def simclr_pair() -> Finding:
    topic, paper = "SimCLR", "crop + colour distortion is the best pair of augmentations; no single one is enough"
    grid = _load("simclr/augmentation_grid.json")
    if grid is None:
        return _missing(topic, paper, "python -m sslcourse.experiments.simclr grid")
    cells = grid["cells"]
    pairs = [c for c in cells if c["first"] != c["second"]]
    singles = [c for c in cells if c["first"] == c["second"]]
    best = max(pairs, key=lambda c: c["linear_top1"])
    best_single = max(singles, key=lambda c: c["linear_top1"])
    crop_color = next((c for c in pairs if {c["first"], c["second"]} == {"crop", "color"}), None)
    if crop_color is None:
        return _missing(topic, paper, "the grid has no crop + color cell")
    leader = ("crop + color is the best pair" if best is crop_color else
              f"best pair {best['first']} + {best['second']} {best['linear_top1']:.1f}%, crop + color")
    ours = (f"{leader} {crop_color['linear_top1']:.1f}%, best single {best_single['first']} "
            f"{best_single['linear_top1']:.1f}% (linear probe, {len(grid['augmentations'])} augmentations)")
    verdict = _judge(crop_color["linear_top1"] - max([best_single["linear_top1"]]
                                                      + [c["linear_top1"] for c in pairs if c is not crop_color]))
    why = "" if verdict == "reproduced" else ("runs of a few hundred steps on small images: colour distortion "
                                              "pays off only once the crop shortcut has been learned")
    return Finding(topic, paper, ours, verdict, _scale(grid), why)


@finding
def simclr_head() -> Finding:
    topic, paper = "SimCLR", "the representation before the projection head is better than after it (by >10 points)"
    head = _load("simclr/head.json")
    if head is None:
        return _missing(topic, paper, "python -m sslcourse.experiments.simclr head")
    mlp = next(r for r in head["runs"] if r["head"] == "mlp")
    h, z = mlp["h"]["linear_top1"], mlp["z"]["linear_top1"]
    verdict = _judge(h - z)
    why = "" if verdict == "reproduced" else "a short run: the head has not yet specialised to the loss"
    return Finding(topic, paper, f"h {h:.1f}% vs z {z:.1f}% (linear probe, MLP head)", verdict, _scale(head), why)


@finding
def simclr_temperature() -> Finding:
    topic, paper = "SimCLR", "a middle temperature is best (0.1 on ImageNet); too low or too high hurts"
    temp = _load("simclr/temperature.json")
    if temp is None:
        return _missing(topic, paper, "python -m sslcourse.experiments.simclr temperature")
    runs = sorted(temp["runs"], key=lambda r: r["temperature"])
    best = max(runs, key=lambda r: r["linear_top1"])
    ends = max(runs[0]["linear_top1"], runs[-1]["linear_top1"])
    curve = ", ".join(f"{r['temperature']:g}: {r['linear_top1']:.1f}" for r in runs)
    verdict = _judge(best["linear_top1"] - ends) if best not in (runs[0], runs[-1]) else "not reproduced"
    why = "" if verdict == "reproduced" else "short runs with small batches; the optimum moves with batch size"
    return Finding(topic, paper, f"best {best['temperature']:g} ({curve})", verdict, _scale(temp), why)


# --------------------------------------------------------------------------- MAE
@finding
def mae_ratio() -> Finding:
    topic, paper = "MAE", "masking 75% gives the best linear probe; less masking is worse"
    sweep = _load("mae/sweep.json")
    if sweep is None:
        return _missing(topic, paper, "python -m sslcourse.experiments.mae sweep")
    ratios = {float(k): v for k, v in sweep["results"]["ratios"].items()}
    best = max(ratios, key=lambda r: ratios[r]["linear_top1"])
    low = [r for r in ratios if r < 0.75]
    curve = ", ".join(f"{r:g}: {ratios[r]['linear_top1']:.1f}" for r in sorted(ratios))
    if 0.75 not in ratios or not low:
        return _missing(topic, paper, "the sweep lacks 0.75 or a lower ratio")
    verdict = _judge(ratios[0.75]["linear_top1"] - max(ratios[r]["linear_top1"] for r in low))
    why = "" if verdict == "reproduced" else "a few epochs of a tiny ViT on 2,000 images; the paper trains 800+ epochs"
    return Finding(topic, paper, f"best {best:g} (linear: {curve})", verdict, _scale(sweep), why)


@finding
def mae_finetune_vs_scratch() -> Finding:
    topic, paper = "MAE", "fine-tuning the MAE encoder beats the same ViT trained from scratch (89.8 vs 74.1 on CIFAR-10)"
    ft = _load("mae/finetune.json")
    if ft is None:
        return _missing(topic, paper, "python -m sslcourse.experiments.mae finetune")
    r = ft["results"]
    mae, scratch = r["mae"]["test_top1"], r["scratch"]["test_top1"]
    verdict = _judge(mae - scratch)
    why = "" if verdict == "reproduced" else (f"{r['pretrain_epochs']:g} pre-training epochs instead of 2,000: "
                                              "the encoder has learned little to start from")
    return Finding(topic, paper, f"MAE {mae:.1f}% vs scratch {scratch:.1f}% (fine-tuned)", verdict, _scale(ft), why)


@finding
def mae_cost() -> Finding:
    topic, paper = "MAE", "encoding only the visible 25% of the patches makes pre-training 3x or more faster"
    cost = _load("mae/cost.json")
    if cost is None:
        return _missing(topic, paper, "python -m sslcourse.experiments.mae cost")
    r = cost["results"]
    speedup = r["speedup"]
    verdict = "reproduced" if speedup >= 3 else ("partly: faster, less than 3x" if speedup > 1.1 else "not reproduced")
    why = "" if speedup >= 3 else "a tiny model on few tokens: the decoder and fixed costs weigh more"
    return Finding(topic, paper, f"{speedup:.1f}x ({r['images_per_s_visible_only']:.0f} vs "
                   f"{r['images_per_s_all_tokens']:.0f} images/s)", verdict, _scale(cost), why)


# --------------------------------------------------------------------------- the bet
@finding
def the_bet() -> Finding:
    topic = "the bet"
    paper = "self-supervised pre-training matches supervised (MAE, COCO detection: 50.3 vs 47.9 AP)"
    from sslcourse import scoreboard

    rows = scoreboard.rows(include_yours=False)
    supervised = [r for r in rows if r["method"] == "supervised" and "linear_top1" in r["metrics"]]
    ssl = [r for r in rows if r["method"] not in ("supervised", "random") and "linear_top1" in r["metrics"]]
    if not supervised or not ssl:
        return _missing(topic, paper, "the scoreboard needs a supervised and a self-supervised row")
    sup = max(supervised, key=lambda r: r["metrics"]["linear_top1"])
    best = max(ssl, key=lambda r: r["metrics"]["linear_top1"])
    gap = best["metrics"]["linear_top1"] - sup["metrics"]["linear_top1"]
    verdict = _judge(gap, expected_positive=True) if gap > -NOISE else "not reproduced"
    why = "" if verdict == "reproduced" else ("minutes of pre-training on 50,000 tiny images, evaluated on the "
                                              "labels' own task; the papers pre-train for days on millions")
    ours = (f"best self-supervised {best['name']} {best['metrics']['linear_top1']:.1f}% vs "
            f"{sup['name']} {sup['metrics']['linear_top1']:.1f}% (linear probe, CIFAR-10)")
    return Finding(topic, paper, ours, verdict, best["computed_on"], why)


def evaluate_all() -> list[Finding]:
    return [fn() for fn in _FINDINGS]


def table(width: int = 110) -> str:
    """The findings as text, one block per claim."""
    blocks = []
    for f in evaluate_all():
        lines = [f"[{f.verdict}] {f.topic}: {f.paper}", f"    ours ({f.scale}): {f.ours}"]
        if f.why:
            lines.append(f"    why it might differ: {f.why}")
        blocks.append("\n".join(textwrap.fill(line, width, subsequent_indent="      ") for line in lines))
    return "\n".join(blocks)


def markdown() -> str:
    """The findings as a Markdown table (for notebooks and slides)."""
    cell = lambda text: text.replace("|", "\\|")
    lines = ["| | paper | ours | verdict | where | why it might differ |", "|---|---|---|---|---|---|"]
    for f in evaluate_all():
        lines.append("| " + " | ".join(cell(x) for x in (f.topic, f.paper, f.ours, f"**{f.verdict}**", f.scale,
                                                          f.why or "")) + " |")
    return "\n".join(lines)
