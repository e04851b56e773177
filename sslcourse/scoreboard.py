"""The scoreboard: every method's scores under the course's one protocol, side by side.

Shipped rows come from the repository (`sslcourse/results/protocol/*.json`, each written by
`python -m sslcourse eval ... --out` and carrying its command and device; or, failing that, the metrics
in a shipped weights card). Your rows live in a separate file in the data folder
(`scoreboard-yours.json`): recording your run never changes a shipped row, even under the same name.

Every row names its architecture, width and input ("ResNet-18, width 0.125, colour input"), the device it
was trained on and its budget (epochs, minutes), and every accuracy carries its standard error from
`sslcourse.stats` (`value`: binomial from the test-set size, with the seeds' spread where a row has several).
Methods are compared like for like: each against its own matched floor, an untrained network of the same
architecture, width and input (grey for colorization), shipped as `results/protocol/random_NAME.json`
(`python -m sslcourse eval random:NAME`); "best so far" ranks by that gain, and only where the gains are
told apart by two standard errors; gap-closed divides by a supervised ceiling of the same architecture where
one is shipped, and says so where none is.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

RESULTS_DIR = Path(__file__).resolve().parent / "results" / "protocol"
# The protocol's numbers, in the order the course reads them; all are top-1 accuracies in percent.
METRICS = {
    "knn_top1": "kNN (k=20)",
    "linear_top1": "linear probe",
    "few_label_top1@1": "fine-tune, 1 label/class",
    "few_label_top1@10": "fine-tune, 10 labels/class",
    "few_label_top1@100": "fine-tune, 100 labels/class",
}
# Where each method sits in the story: the two ends of the scale first and last.
ORDER = ("random", "context", "colorization", "simclr", "mae", "supervised")
# One colour and marker per method (Okabe-Ito: told apart by colour-blind readers too); a floor (an untrained
# network) takes the colour of the method it is the floor of, drawn hollow and dashed, or grey when it serves several.
COLOURS = {
    "context": "#E69F00",
    "colorization": "#009E73",
    "simclr": "#D55E00",
    "mae": "#CC79A7",
    "supervised": "#0072B2",
}
MARKERS = {"context": "s", "colorization": "D", "simclr": "^", "mae": "v", "supervised": "o"}


def yours_path() -> Path:
    from sslcourse.data import data_dir

    return Path(os.environ.get("SSLCOURSE_SCOREBOARD") or data_dir() / "scoreboard-yours.json")


def _method_of(weights: str) -> str:
    if weights.startswith("random"):
        return "random"
    from sslcourse import pretrained

    try:
        return pretrained.card(weights)["method"]
    except Exception:  # a result whose weights are not shipped: fall back to its name
        return weights.split("_")[0]


def _architecture(weights: str) -> str:
    from sslcourse import pretrained, provenance

    c = pretrained.card(weights)
    return c.get("architecture") or provenance.architecture(c["method"], c.get("method_kwargs", {}))


def value(row: dict, metric: str):
    """row's metric with its standard error (`verdicts.Value`): binomial from the row's test-set size, with the
    spread of its seeds where the row records several (`metric + "_seeds"`, `stats.mean_over_seeds`)."""
    from sslcourse.verdicts import Value, accuracy

    v, n = row["metrics"][metric], row["metrics"].get("n_test")
    if n and metric in METRICS:
        return accuracy(row["metrics"], metric, int(n))
    return Value(v, None, "test-set size not recorded")


def _trained(card: dict) -> tuple[str, str]:
    """(the device a card's weights were trained on, its budget: epochs and minutes)."""
    epochs, seconds = card.get("epochs"), card.get("wall_time_s")
    budget = ", ".join(
        ([f"{round(epochs, 2):g} epochs"] if epochs is not None else [])
        + ([f"{seconds / 60:.1f} min"] if seconds is not None else [])
    )
    return card.get("device", "not recorded"), budget or "not recorded"


def shipped() -> list[dict]:
    """Rows from the repository: protocol results first, then cards of shipped weights without one."""
    from sslcourse import pretrained

    rows, seen = [], set()
    shipped_weights = set(pretrained.available())
    for path in sorted(RESULTS_DIR.glob("*.json")):
        r = json.loads(path.read_text())
        # Where the model was trained (GPU or CPU) is what the row's label says; the evaluation's own
        # device changes nothing but its speed.
        trained_on = (
            pretrained.card(r["weights"]).get("trained_on", "?")
            if r["weights"] in shipped_weights
            else r.get("computed_on", "?")
        )
        # A floor is named as the entry it is the floor of (the names of architectures are the code's, not the run's).
        arch = (
            _architecture(r["floor_of"])
            if r.get("floor_of") in shipped_weights
            else r.get("architecture") or (_architecture(r["weights"]) if r["weights"] in shipped_weights else None)
        )
        untrained = r["weights"].startswith("random")
        device, budget = (
            ("untrained", "no training")
            if untrained
            else _trained(pretrained.card(r["weights"]))
            if r["weights"] in shipped_weights
            else ("not recorded", "not recorded")
        )
        rows.append(
            {
                "name": path.stem,
                "method": _method_of(r["weights"]),
                "metrics": r["metrics"],
                "source": "shipped",
                "computed_on": trained_on,
                "command": r.get("command", ""),
                "weights": r["weights"],
                "architecture": arch,
                "floor_of": r.get("floor_of"),
                "device": device,
                "budget": budget,
            }
        )
        seen.add(r["weights"])
    for name in pretrained.available():
        if name not in seen:
            c = pretrained.card(name)
            rows.append(
                {
                    "name": name,
                    "method": c["method"],
                    "metrics": c.get("metrics", {}),
                    "source": "shipped",
                    "computed_on": c.get("trained_on", "?"),
                    "command": c.get("command", ""),
                    "weights": name,
                    "architecture": _architecture(name),
                    "floor_of": None,
                    **dict(zip(("device", "budget"), _trained(c))),
                }
            )
    return _sorted(rows)


def yours() -> list[dict]:
    path = yours_path()
    if not path.is_file():
        return []
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{path} is not valid JSON ({err}); fix or move it; it holds only your own rows") from err


def _check_metrics(metrics: dict) -> dict:
    clean = {}
    for k, v in metrics.items():
        if not isinstance(v, (int, float)) or isinstance(v, bool) or math.isnan(v):
            raise ValueError(f"metric {k!r} must be a number, got {v!r}")
        if k in METRICS and not 0 <= v <= 100:
            raise ValueError(f"metric {k!r} is an accuracy in percent (0-100), got {v}")
        clean[k] = float(v)
    if not set(clean) & set(METRICS):
        raise ValueError(f"no protocol metric among {sorted(clean)}; expected some of {list(METRICS)}")
    return clean


def record(
    name: str, metrics: dict, method: str | None = None, note: str = "", architecture: str | None = None
) -> dict:
    """Add (or update) one of your rows; shipped rows are never touched. `architecture` (e.g. "ResNet-18, width
    0.5, colour input") lets gap-closed find its matched floor. Returns the row."""
    row = {
        "name": name,
        "method": method or name.split("_")[0],
        "metrics": _check_metrics(metrics),
        "source": "yours",
        "computed_on": note or "your run",
        "command": "",
        "architecture": architecture,
    }
    rows = [r for r in yours() if r["name"] != name] + [row]
    path = yours_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(rows, indent=2) + "\n")
    os.replace(tmp, path)  # atomic: an interrupted write never loses earlier rows
    return row


def _sorted(rows: list[dict]) -> list[dict]:
    rank = {m: i for i, m in enumerate(ORDER)}
    return sorted(rows, key=lambda r: (rank.get(r["method"], len(ORDER) - 1), r["source"] != "shipped", r["name"]))


def revealed(row: dict, upto: str) -> bool:
    """Whether `row` is on the scoreboard as it stands after the notebook of method `upto` (one of ORDER):
    the two ends of the scale (the random row and supervised) from the start, each method from its own
    notebook on, and a method's matched floor together with the method."""
    if upto not in ORDER:
        raise ValueError(f"upto={upto!r}: expected one of {', '.join(ORDER)} (a notebook's method)")
    shown = set(ORDER[: ORDER.index(upto) + 1]) | {"random", "supervised"}
    if row["method"] == "random" and row.get("floor_of"):
        return _method_of(row["floor_of"]) in shown
    return row["method"] in shown


def rows(include_yours: bool = True, upto: str | None = None) -> list[dict]:
    """Every row (shipped, then yours), in the order of the course; with `upto`, only those revealed by the
    notebook of that method (`revealed`): notebook 00 shows the two ends, each later one adds its row."""
    all_rows = _sorted(shipped() + (yours() if include_yours else []))
    return all_rows if upto is None else [r for r in all_rows if revealed(r, upto)]


def table(rows_: list[dict] | None = None, metrics=None) -> str:
    """A plain-text table: one row per result, one column per protocol metric that any row has
    (or those in `metrics`), '-' where a number was not measured."""
    rows_ = rows() if rows_ is None else rows_
    if metrics is None:
        metrics = [m for m in METRICS if any(m in r["metrics"] for r in rows_)]
    header = ["name", "architecture", "trained on", "budget", "source"] + [METRICS.get(m, m) for m in metrics]
    body = [
        [
            r["name"],
            r.get("architecture") or "not recorded",
            r.get("device") or "not recorded",
            r.get("budget") or "not recorded",
            f"{r['source']} ({_where(r)})",
        ]
        + [str(value(r, m)) if m in r["metrics"] else "-" for m in metrics]
        for r in rows_
    ]
    widths = [max(len(str(c)) for c in col) for col in zip(header, *body)]
    line = lambda cells: "  ".join(
        str(c).ljust(w) if i < 5 else str(c).rjust(w) for i, (c, w) in enumerate(zip(cells, widths))
    )
    note = (
        "± one standard error (sslcourse.stats: binomial from the test-set size; one seed per row, so run-to-run "
        "noise is not in it). 'CPU stand-in' rows are short CPU runs of small networks, not the method at its "
        "scale; 'floor' rows are untrained networks. Rows of different architectures, devices or budgets are "
        "compared only through their gain over their own floor."
    )
    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(b) for b in body] + [note])


def style(row: dict) -> dict:
    """How a row is drawn: its colour, marker, and whether it is a floor (see COLOURS)."""
    method = row["method"]
    if method == "random":
        method = _method_of(row["floor_of"]) if row.get("floor_of") else None
        return {"color": COLOURS.get(method, "0.35"), "marker": MARKERS.get(method, "o"), "floor": True}
    return {"color": COLOURS.get(method, "0.6"), "marker": MARKERS.get(method, "o"), "floor": False}


def _where(row: dict) -> str:
    if row["method"] == "random":
        return f"{row['computed_on']} eval, floor"
    return "CPU stand-in" if row.get("computed_on") == "CPU" else str(row.get("computed_on"))


def plot(metric: str = "linear_top1", rows_: list[dict] | None = None, ax=None):
    """Bar chart of one metric for every row that has it; your rows hatched. Returns the axes."""
    import matplotlib.pyplot as plt

    rows_ = [r for r in (rows() if rows_ is None else rows_) if metric in r["metrics"]]
    if ax is None:
        _, ax = plt.subplots(figsize=(1.2 * max(len(rows_), 3) + 2, 3.2))
    values = [r["metrics"][metric] for r in rows_]
    errors = [2 * (value(r, metric).se or 0) for r in rows_]  # two standard errors: the course's threshold
    bars = ax.bar(
        range(len(rows_)),
        values,
        yerr=errors,
        capsize=3,
        color=[style(r)["color"] for r in rows_],
    )
    for bar, r, v, e in zip(bars, rows_, values, errors):
        stand_in = r.get("computed_on") == "CPU" and r["method"] != "random"
        if style(r)["floor"]:  # an untrained floor: its method's colour, hollow
            bar.set_facecolor("white")
            bar.set_edgecolor(style(r)["color"])
            bar.set_linewidth(1.5)
        if r["source"] == "yours":
            bar.set_hatch("//")
        elif stand_in:  # a short CPU run: hatched, so it never reads like a real run
            bar.set_hatch("xx")
            bar.set_alpha(0.55)
        x = bar.get_x() + bar.get_width() / 2  # the value above the error bar's cap, never across it
        ax.annotate(
            f"{v:.1f}", (x, v + e), xytext=(0, 1), textcoords="offset points", ha="center", va="bottom", fontsize=7
        )
    # A short CPU stand-in is not the method at its best: say so under its bar.
    ticks = [
        r["name"] + (" (CPU run)" if r.get("computed_on") == "CPU" and r["method"] != "random" else "") for r in rows_
    ]
    ax.set_xticks(range(len(rows_)), ticks, rotation=35, ha="right", rotation_mode="anchor", fontsize=7.5)
    ax.set_ylabel(f"{METRICS.get(metric, metric)} (%)")
    ax.set_ylim(0, 100)
    ax.axhline(10, color="grey", lw=0.8, ls=":")
    legend = [plt.Line2D([], [], color="grey", lw=0.8, ls=":", label="chance (10 classes)")]
    if any(style(r)["floor"] for r in rows_):
        legend.append(plt.Rectangle((0, 0), 1, 1, fc="white", ec="0.35", lw=1.5, label="untrained floor (hollow)"))
    if any(r.get("computed_on") == "CPU" and r["method"] != "random" for r in rows_):
        legend.append(plt.Rectangle((0, 0), 1, 1, fc="0.7", hatch="xx", alpha=0.55, label="short CPU run (stand-in)"))
    if any(r["source"] == "yours" for r in rows_):
        legend.append(plt.Rectangle((0, 0), 1, 1, fc="0.7", hatch="//", label="yours"))
    ax.legend(handles=legend, fontsize=7, loc="upper left")
    ax.set_title(f"CIFAR-10 test accuracy: {METRICS.get(metric, metric)} (bars: ± 2 standard errors)")
    return ax


def plot_gains(metric: str = "linear_top1", rows_: list[dict] | None = None, ax=None):
    """Bar chart of each trained row's gain over its own untrained network (`versus_floor`: same architecture,
    width and input), in points, with ± 2 standard errors of the difference: the like-for-like comparison of
    rows whose raw accuracies start from different floors. Rows without a matched floor are left out (the
    title says how many). Returns the axes."""
    import matplotlib.pyplot as plt

    rows_ = [r for r in (rows() if rows_ is None else rows_) if metric in r["metrics"]]
    versus = versus_floor(metric, rows_)
    trained = [r for r in rows_ if r["method"] != "random"]
    shown = [r for r in trained if r["name"] in versus]
    if ax is None:
        _, ax = plt.subplots(figsize=(1.2 * max(len(shown), 3) + 2, 3.2))
    gains = [versus[r["name"]][1] for r in shown]
    errors = [2 * (g.se or 0) for g in gains]
    bars = ax.bar(range(len(shown)), [g.value for g in gains], yerr=errors, capsize=3,
                  color=[style(r)["color"] for r in shown])  # fmt: skip
    for bar, r, g, e in zip(bars, shown, gains, errors):
        if r["source"] == "yours":
            bar.set_hatch("//")
        elif r.get("computed_on") == "CPU":  # a short CPU run: hatched, as in `plot`
            bar.set_hatch("xx")
            bar.set_alpha(0.55)
        x, up = bar.get_x() + bar.get_width() / 2, g.value >= 0  # the label beyond the error bar's cap
        ax.annotate(f"{g.value:+.1f}", (x, g.value + (e if up else -e)), xytext=(0, 1 if up else -1),
                    textcoords="offset points", ha="center", va="bottom" if up else "top", fontsize=7)  # fmt: skip
    ticks = [r["name"] + (" (CPU run)" if r.get("computed_on") == "CPU" else "") for r in shown]
    ax.set_xticks(range(len(shown)), ticks, rotation=35, ha="right", rotation_mode="anchor", fontsize=7.5)
    ax.axhline(0, color="grey", lw=0.8)
    top = max([g.value + e for g, e in zip(gains, errors)] + [1.0])
    ax.set_ylim(min([g.value - e for g, e in zip(gains, errors)] + [0.0]) - 0.05 * top, 1.15 * top)
    ax.set_ylabel("gain over its own\nuntrained network (points)")
    left_out = len(trained) - len(shown)
    ax.set_title(
        f"{METRICS.get(metric, metric)}: gain over the untrained network of the same architecture (± 2 SE)"
        + (f"\n{left_out} row{'s' * (left_out > 1)} without a matched floor left out" if left_out else ""),
        fontsize=9,
    )
    return ax


def label_curves(rows_: list[dict] | None = None) -> dict[str, dict[int, float]]:
    """Few-label fine-tuning accuracy (%) against labels per class, for every row that measured it:
    {row name: {labels per class: accuracy}}."""
    curves = {}
    for r in rows() if rows_ is None else rows_:
        points = {int(k.split("@")[1]): v for k, v in r["metrics"].items() if k.startswith("few_label_top1@")}
        if points:
            curves[r["name"]] = dict(sorted(points.items()))
    return curves


def plot_label_curves(rows_: list[dict] | None = None, ax=None):
    """Few-label fine-tuning: test accuracy against labelled images per class (log scale), one line per
    row that measured it, coloured by method as in `plot`. Returns the axes."""
    import matplotlib.pyplot as plt

    rows_ = rows() if rows_ is None else rows_
    curves = label_curves(rows_)
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 3.6), layout="constrained")
    for r in rows_:
        if r["name"] not in curves:
            continue
        n, acc = zip(*curves[r["name"]].items())
        look = style(r)
        cpu = r.get("computed_on") == "CPU" and r["method"] != "random"
        err = [2 * (value(r, f"few_label_top1@{k}").se or 0) for k in n]
        ax.errorbar(
            n,
            acc,
            yerr=err,
            capsize=2,
            marker=look["marker"],
            mfc="white" if look["floor"] else look["color"],
            color=look["color"],
            ls=":" if r["source"] == "yours" else ("--" if look["floor"] else "-"),
            label=r["name"] + (" (short CPU run)" if cpu else "") + (" (untrained floor)" if look["floor"] else ""),
        )
    ax.set_xscale("log")
    ns = sorted({n for curve in curves.values() for n in curve})
    ax.set_xticks(ns, [str(n) for n in ns])
    ax.minorticks_off()
    ax.set_xlabel("labelled images per class (fine-tuning)")
    ax.set_ylabel("CIFAR-10 test accuracy (%)")
    ax.axhline(10, color="grey", lw=0.8, ls=":")  # chance
    ax.set_ylim(0, 100)
    ax.grid(alpha=0.3)
    if curves:
        ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.02, 0.5))  # beside: the curves fill the axes
    ax.set_title("How many labels does each start need? (± 2 standard errors)")
    return ax


def floor(row: dict, rows_: list[dict]) -> dict | None:
    """The untrained network `row` is measured against: the random row made from row's own weights
    (`random:NAME`), else one of the same architecture, width and input; None if the scoreboard has none."""
    randoms = [r for r in rows_ if r["method"] == "random"]
    own = [r for r in randoms if r.get("floor_of") and r.get("floor_of") == row.get("weights")]
    same = [r for r in randoms if r.get("architecture") == row.get("architecture")]
    return (own or same or [None])[0]


def ceiling(row: dict, rows_: list[dict], metric: str = "linear_top1") -> tuple[dict, bool]:
    """The supervised row `row` is measured up to: (the best supervised row of its own architecture, width and
    input, True), else (the best supervised row of any architecture, False: not like for like)."""
    supervised = sorted(
        (r for r in rows_ if r["method"] == "supervised" and metric in r["metrics"]),
        key=lambda r: -r["metrics"][metric],
    )
    if not supervised:
        raise ValueError(f"the scoreboard has no supervised row with {metric!r}: it is one end of the scale")
    same = [r for r in supervised if row.get("architecture") and r.get("architecture") == row.get("architecture")]
    return (same[0], True) if same else (supervised[0], False)


def gap_closed(metric: str = "linear_top1", rows_: list[dict] | None = None) -> dict[str, float]:
    """For each row between the two ends of the scale, the share of the distance from its matched floor (an
    untrained network of its own architecture, width and input) to its supervised ceiling that it covers:
    (row - floor) / (ceiling - floor). 0 is its untrained network, 1 is supervised. The ceiling is a supervised
    row of the same architecture where one is shipped, else the best supervised row (`ceiling`; `ceilings`
    says which). Rows without a matched floor that measured `metric` are left out (see `floor`)."""
    rows_ = [r for r in (rows() if rows_ is None else rows_) if metric in r["metrics"]]
    if not any(r["method"] == "random" for r in rows_):
        raise ValueError(f"the scoreboard has no random row with {metric!r}: it is one end of the scale")
    out = {}
    for r in rows_:
        base = floor(r, rows_) if r["method"] not in ("random", "supervised") else None
        if base is None:
            continue
        top = ceiling(r, rows_, metric)[0]["metrics"][metric]
        span = top - base["metrics"][metric]
        if span <= 0:
            raise ValueError(f"supervised ({top:.1f}) is not above {base['name']} on {metric}")
        out[r["name"]] = (r["metrics"][metric] - base["metrics"][metric]) / span
    return out


def ceilings(metric: str = "linear_top1", rows_: list[dict] | None = None) -> dict[str, str]:
    """For each row of `gap_closed`, a sentence naming its ceiling and whether it is of the same architecture."""
    rows_ = [r for r in (rows() if rows_ is None else rows_) if metric in r["metrics"]]
    out = {}
    for name in gap_closed(metric, rows_):
        r = next(x for x in rows_ if x["name"] == name)
        top, same = ceiling(r, rows_, metric)
        out[name] = (
            f"ceiling {top['name']} (same architecture)"
            if same
            else f"no supervised row of its architecture ({r.get('architecture')}): ceiling {top['name']} "
            f"({top.get('architecture')}), not like for like"
        )
    return out


def versus_floor(metric: str = "linear_top1", rows_: list[dict] | None = None) -> dict[str, tuple]:
    """For each trained row with a matched floor: (its matched floor's name, row - floor as a `findings.Value`
    with its standard error, and a word: "above", "within the noise of" or "below" its untrained network,
    by the course's two-standard-error rule)."""
    rows_ = [r for r in (rows() if rows_ is None else rows_) if metric in r["metrics"]]
    out = {}
    for r in rows_:
        base = floor(r, rows_) if r["method"] != "random" else None
        if base is None:
            continue
        diff = value(r, metric) - value(base, metric)
        word = (
            "within the noise of"
            if diff.se is None or abs(diff.value) <= 2 * diff.se
            else "above"
            if diff.value > 0
            else "below"
        )
        out[r["name"]] = (base["name"], diff, word)
    return out


def floor_sentence(name: str, metric: str = "linear_top1") -> str:
    """One computed sentence: how a row compares with its matched untrained network, with the error bar."""
    found = versus_floor(metric).get(name)
    if found is None:
        return f"{name}: no matched floor (untrained network of its architecture) is shipped yet for {METRICS[metric]}"
    base, diff, word = found
    return (
        f"{name}, {METRICS[metric]}: {diff.value:+.1f} ± {diff.se:.1f} points against {base}, an untrained network "
        f"of its own architecture, width and input: {word} it (two standard errors decide)"
    )


def _word(d) -> str:
    """The course's two-standard-error word for a difference (`verdicts.Value`)."""
    return "within the noise of" if d.se is None or abs(d.value) <= 2 * d.se else ("above" if d.value > 0 else "below")


def best_by_gain(metric: str = "linear_top1", rows_: list[dict] | None = None) -> tuple[list, str]:
    """Rank the self-supervised rows by their gain over their own untrained network (each method's row with the
    largest gain), like for like whatever their architecture, device or budget. Returns ([(row, gain), ...]
    best first, a sentence): the sentence names a best row only when its gain is above the runner-up's by more
    than two standard errors of the difference, else says which gains cannot be told apart."""
    rows_ = [r for r in (rows() if rows_ is None else rows_) if metric in r["metrics"]]
    versus = versus_floor(metric, rows_)
    best = {}
    for r in rows_:
        if r["method"] in ("random", "supervised") or r["name"] not in versus:
            continue
        gain = versus[r["name"]][1]
        if r["method"] not in best or gain.value > best[r["method"]][1].value:
            best[r["method"]] = (r, gain)
    ranked = sorted(best.values(), key=lambda rg: -rg[1].value)
    if not ranked:
        return ranked, "no self-supervised row has a matched floor yet: nothing to rank"
    (top, g), rest = ranked[0], ranked[1:]
    if not rest:
        return ranked, f"only {top['name']} has a matched floor so far: {g.value:+.1f} ± {g.se:.1f} over it"
    tied = [r for r, h in rest if _word(g - h) != "above"]
    if tied:
        return ranked, (
            f"cannot rank: the gain of {top['name']} ({g.value:+.1f} ± {g.se:.1f}) is within two standard errors of "
            + ", ".join(
                f"{r['name']}'s ({versus[r['name']][1].value:+.1f} ± {versus[r['name']][1].se:.1f})" for r in tied
            )
        )
    second, h = rest[0]
    return ranked, (
        f"{top['name']} gains most over its own untrained network ({g.value:+.1f} ± {g.se:.1f}), beyond two "
        f"standard errors of the next, {second['name']} ({h.value:+.1f} ± {h.se:.1f})"
    )


def bet_so_far(upto: str, metric: str = "linear_top1") -> str:
    """ "The bet so far": the scoreboard as it stands after the notebook of method `upto`, read in computed
    sentences. Every self-supervised method shown so far, like for like: its gain over its own untrained
    network and its distance to a supervised row of its own architecture (or, where none is shipped, to the
    best supervised row, said so), each with its standard error and the course's two-standard-error word, and
    its scale (device, budget). "Best so far" ranks by the gain over the matched floor (`best_by_gain`)."""
    shown = rows(include_yours=False, upto=upto)
    if not any(r["method"] == "supervised" and metric in r["metrics"] for r in shown):
        return f"The bet so far: no supervised row with {METRICS[metric]} is shipped, so there is nothing to compare."
    have = [r for r in shown if metric in r["metrics"]]
    versus = versus_floor(metric, have)
    one_seed = all(value(r, metric).seeds == 1 for r in have)
    lines = [f"The bet so far ({METRICS[metric]}, ± one standard error{', one seed per row' if one_seed else ''}):"]
    ranked, ranking = best_by_gain(metric, have)
    ssl = [r for method in ORDER for r in have if r["method"] == method and method not in ("random", "supervised")]
    for r in ssl:
        top, same = ceiling(r, have, metric)
        gap = value(r, metric) - value(top, metric)
        where = "a short CPU stand-in" if r.get("computed_on") == "CPU" else f"trained on {r.get('computed_on')}"
        scale = f"{r.get('device', 'device not recorded')}, {r.get('budget', 'budget not recorded')}"
        floor_part = (
            f"{versus[r['name']][1].value:+.1f} ± {versus[r['name']][1].se:.1f} over its untrained network "
            f"({versus[r['name']][2]} it)"
            if r["name"] in versus
            else "no matched floor shipped"
        )
        versus_sup = f"{gap.value:+.1f} ± {gap.se:.1f} against {top['name']}" + (
            "" if same else " (not its architecture: no supervised row of it is shipped)"
        )
        lines.append(
            f"- {r['name']} ({r.get('architecture')}; {where}: {scale}): {value(r, metric)}; {floor_part}; "
            f"{versus_sup} ({_word(gap)} it)"
        )
    if not ssl:
        lines.append("- no self-supervised method yet: the gap is the whole distance from random to supervised.")
        return "\n".join(lines)
    lines.append("Best so far, by gain over its own untrained network: " + ranking + ".")
    like = [(r, *ceiling(r, have, metric)) for r in ssl]
    like = [(r, top) for r, top, same in like if same]
    if not like:
        lines.append(
            "Verdict: cannot tell at this scale: no self-supervised row shares a supervised row's architecture, "
            "so none can be set against supervised like for like."
        )
        return "\n".join(lines)
    r, top = max(like, key=lambda rt: (value(rt[0], metric) - value(rt[1], metric)).value)
    gap = value(r, metric) - value(top, metric)
    if _word(gap) == "below":
        verdict = (
            f"not won at this scale: {r['name']} is below {top['name']}, its own architecture trained with labels."
        )
    elif _word(gap) == "within the noise of":
        verdict = f"cannot tell at this scale: {r['name']} is within two standard errors of {top['name']}."
    else:
        verdict = f"won at this scale on this probe: {r['name']} is above {top['name']} beyond the noise."
    if min(value(r, metric).seeds, value(top, metric).seeds) < 3:
        verdict += " Fewer than 3 seeds: run-to-run noise is not measured, so this is indicative only."
    if r.get("computed_on") == "CPU":
        verdict += " Its row is a short CPU stand-in."
    lines.append("Verdict: " + verdict)
    return "\n".join(lines)
