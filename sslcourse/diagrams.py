"""One picture of each method, drawn from the course's own models.

Every shape written on a diagram comes from a forward pass of the method as `sslcourse.methods.build`
makes it (the recipe's default sizes: half-width ResNet-18, ViT with patch 4 on 32x32 images), so a
diagram cannot drift from the code. The shipped CPU stand-ins are narrower; their cards give their sizes.

    shapes("simclr")          -> {"x": "(B, 3, 32, 32)", "h": "(B, 256)", ...}
    draw("simclr")            -> a matplotlib Figure
"""

from __future__ import annotations

import torch

from sslcourse import methods
from sslcourse.methods.colorization import rgb_to_lab
from sslcourse.methods.context import OFFSETS

METHODS = ("context", "colorization", "simclr", "mae")
B = 2  # the batch of the probing forward pass; shown as the symbol B

# Okabe-Ito colours (distinguishable with every common colour-vision deficiency), light tints for boxes.
DATA, NET, HEAD, LOSS, DROP = "#cfe8f6", "#fde9c4", "#d9f0e3", "#f6d6e6", "#e6e6e6"
EDGE = {DATA: "#0072B2", NET: "#E69F00", HEAD: "#009E73", LOSS: "#CC79A7", DROP: "#777777"}


def _fmt(t: torch.Tensor | tuple) -> str:
    dims = tuple(t.shape) if isinstance(t, torch.Tensor) else tuple(t)
    return "(" + ", ".join(["B", *map(str, dims[1:])]) + ")"


@torch.no_grad()
def shapes(method: str, **build_kw) -> dict[str, str]:
    """The tensor shapes a diagram is labelled with, from one forward pass on a batch of B = 2 images
    of 32x32 (written with the symbol B). `build_kw` goes to `methods.build`, e.g. width=0.125."""
    if method not in METHODS:
        raise ValueError(f"no diagram for {method!r}; there is one for each of {', '.join(METHODS)}")
    torch.manual_seed(0)
    model = methods.build(method, **build_kw).eval()
    x = torch.rand(B, 3, 32, 32)
    if method == "context":
        center, neighbor, labels = model.pairs(x, torch.Generator().manual_seed(0))
        h = model.backbone.encode_patches(center)
        hidden = model.classifier[0]
        return {
            "x": _fmt(x),
            "upsampled": _fmt((B, 3, round(32 * model.backbone.scale), round(32 * model.backbone.scale))),
            "patch": _fmt(center),
            "h": _fmt(h),
            "pair": _fmt((B, hidden.in_features)),
            "hidden": _fmt((B, hidden.out_features)),
            "logits": _fmt(model(center, neighbor)),
            "grid": f"{model.patch}-px patches, gap {model.gap}, jitter up to {model.jitter}",
            "classes": str(len(OFFSETS)),
        }
    if method == "colorization":
        lab = rgb_to_lab(x)
        L = lab[:, :1]
        stages = model.backbone.forward_stages_from_lightness(L)
        out = model(L)
        return {
            "x": _fmt(x),
            "L": _fmt(L),
            "ab": _fmt(lab[:, 1:]),
            "stages": "\n".join(_fmt(m) for m in stages[1:]),
            "hypercolumn": _fmt((B, model.head[0].in_channels, *out.shape[2:])),
            "hidden": _fmt((B, model.head[0].out_channels, *out.shape[2:])),
            "logits": _fmt(out),
            "target": _fmt((B, 2, *out.shape[2:])),
            "soft": _fmt(out),  # the soft-encoded target has the logits' shape: one weight per bin and pixel
            "Q": str(len(model.centers)),
            "output": _fmt(model.predict_ab(L)),
        }
    if method == "simclr":
        h = model.backbone.forward_features(x)
        linears = [m for m in model.projector.modules() if isinstance(m, torch.nn.Linear)]
        return {
            "x": _fmt(x),
            "h": _fmt(h),
            "hidden": _fmt((B, linears[0].out_features)),
            "z": _fmt(model(x)),
            "pairs": "(2B, 2B)",
            "temperature": f"{model.temperature:g}",
        }
    # mae
    latent, mask, ids_restore = model.forward_encoder(x, model.mask_ratio, torch.Generator().manual_seed(0))
    pred = model.forward_decoder(latent, ids_restore)
    tokens = model.backbone.embed(x)
    L, K = mask.shape[1], latent.shape[1] - 1
    return {
        "x": _fmt(x),
        "patches": _fmt(pred),
        "tokens": _fmt(tokens),
        "visible": _fmt((B, K, tokens.shape[2])),
        "latent": _fmt(latent),
        "decoder_in": _fmt((B, 1 + L, model.decoder_embed.out_features)),
        "pred": _fmt(pred),
        "L": str(L),
        "K": str(K),
        "hidden": str(L - K),
        "patch": str(model.patch),
        "ratio": f"{model.mask_ratio:.0%}",
        "encoder_blocks": f"{len(model.backbone.blocks)} blocks",
        "decoder_blocks": f"{len(model.decoder_blocks)} blocks",
    }


# --------------------------------------------------------------------------- drawing primitives
def _canvas(width: float, height: float):
    """A figure whose data units are inches, so text and boxes can be laid out by measure."""
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(width, height))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    ax.axis("off")
    return fig, ax


def _box(ax, x, y, w, h, text, fill=NET, fontsize=9, **kw):
    """A rounded box centred on (x, y), `w` x `h` inches."""
    from matplotlib.patches import FancyBboxPatch

    ax.add_patch(
        FancyBboxPatch(
            (x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.02,rounding_size=0.08", fc=fill, ec=EDGE[fill], lw=1.2
        )
    )
    ax.text(x, y, text, ha="center", va="center", fontsize=fontsize, **kw)


def _arrow(ax, start, end, label=None, side="above", fontsize=8, color="#333333"):
    """An arrow from `start` to `end`; `label` (a shape) beside its middle."""
    ax.annotate("", xy=end, xytext=start, arrowprops=dict(arrowstyle="-|>", color=color, lw=1.1, shrinkA=0, shrinkB=0))
    if label:
        mx, my = (start[0] + end[0]) / 2, (start[1] + end[1]) / 2
        offset = {"above": (0, 0.09, "center", "bottom"), "below": (0, -0.09, "center", "top")}
        offset.update(right=(0.08, 0, "left", "center"), left=(-0.08, 0, "right", "center"))
        dx, dy, ha, va = offset[side]
        ax.text(mx + dx, my + dy, label, ha=ha, va=va, fontsize=fontsize, family="monospace", color="#222222")


def _title(ax, width, height, text):
    ax.text(width / 2, height - 0.12, text, ha="center", va="top", fontsize=11, weight="bold")


# --------------------------------------------------------------------------- the four diagrams
def _context(s: dict):
    W, H = 11.3, 4.6
    fig, ax = _canvas(W, H)
    _title(ax, W, H, "Context prediction: where does the second patch sit around the first?")
    # The upsampled image with its 3x3 grid: the centre (A) and one neighbour (B, here label 2, top right).
    from matplotlib.patches import Rectangle

    ox, oy, side = 0.35, 0.75, 2.6
    ax.add_patch(Rectangle((ox, oy), side, side, fc=DATA, ec=EDGE[DATA], lw=1.2))
    cell, gap = side * 0.27, side * 0.06
    x0 = ox + (side - 3 * cell - 2 * gap) / 2
    label = 0
    for r in range(3):
        for c in range(3):
            px, py = x0 + c * (cell + gap), oy + side - (side - 3 * cell - 2 * gap) / 2 - (r + 1) * cell - r * gap
            centre, chosen = (r, c) == (1, 1), (r, c) == (0, 2)
            fill = NET if centre else (HEAD if chosen else "white")
            ax.add_patch(Rectangle((px, py), cell, cell, fc=fill, ec="#555555", lw=1.0))
            text = "A" if centre else (f"B = {label}" if chosen else str(label))
            ax.text(px + cell / 2, py + cell / 2, text, ha="center", va="center", fontsize=9)
            label += 0 if centre else 1
    ax.text(
        ox + side / 2, oy - 0.1, f"image {s['x']}\nupsampled to {s['upsampled']}", ha="center", va="top", fontsize=8
    )
    ax.text(ox + side / 2, oy + side + 0.08, s["grid"], ha="center", va="bottom", fontsize=8)
    # The two patches, cut out, -> one shared network -> concatenated -> MLP -> 8 logits.
    yA, yB, xp, xf = 1.45, 3.15, 3.55, 5.3
    a_edge = x0 + 2 * cell + gap  # the right edge of the centre cell
    for y, name, fill, start in (
        (yA, "A", NET, (a_edge, oy + side / 2)),
        (yB, "B", HEAD, (ox + side, oy + side * 0.83)),
    ):
        ax.add_patch(Rectangle((xp - 0.25, y - 0.25), 0.5, 0.5, fc=fill, ec="#555555", lw=1.0))
        ax.text(xp, y, name, ha="center", va="center", fontsize=9)
        ax.plot([start[0], xp - 0.27], [start[1], y], ls=":", color="#777777", lw=1)
        ax.text(xp, y - 0.3, s["patch"], ha="center", va="top", fontsize=7, family="monospace")
        _box(ax, xf, y, 1.6, 0.7, "f: ResNet-18\n(half width)", NET)
        _arrow(ax, (xp + 0.27, y), (xf - 0.8, y))
        _arrow(ax, (xf + 0.8, y), (7.6, y), f"h_{name} {s['h']}", fontsize=7)
    ax.text(xf, (yA + yB) / 2, "shared weights", ha="center", va="center", fontsize=8, color=EDGE[NET])
    y = (yA + yB) / 2
    _box(ax, 7.9, y, 0.6, yB - yA + 0.7, "concat", HEAD, rotation=90)
    _box(ax, 9.75, y, 1.6, 0.7, "MLP\nLinear, ReLU, Linear", HEAD, fontsize=8)
    _arrow(ax, (8.2, y), (8.95, y), s["pair"], fontsize=7)
    _box(
        ax,
        9.75,
        0.75,
        2.5,
        0.75,
        f"cross-entropy over {s['classes']} positions\n(B's label, 0-7; chance 12.5%)",
        LOSS,
        fontsize=8,
    )
    _arrow(ax, (9.75, y - 0.35), (9.75, 1.13), f"logits {s['logits']}", side="right", fontsize=7)
    return fig


def _colorization(s: dict):
    W, H = 13.0, 4.5
    fig, ax = _canvas(W, H)
    _title(ax, W, H, f"Colorization: from lightness, a distribution over Q = {s['Q']} colour bins (the paper: 313)")
    top, mid, low, right = 3.3, 2.0, 0.65, 11.85
    # The network's row: L -> ResNet -> hypercolumn -> head -> Q logits for every pixel of a 16x16 grid.
    _box(ax, 0.7, mid, 1.1, 0.7, "RGB image\n" + s["x"], DATA, fontsize=7)
    _box(ax, 2.15, mid, 0.9, 0.55, "to CIE Lab", DATA, fontsize=8)
    _arrow(ax, (1.25, mid), (1.7, mid))
    _box(ax, 4.5, mid, 1.5, 0.8, "ResNet-18 on L\n(half width)", NET, fontsize=9)
    _arrow(ax, (2.6, mid), (3.75, mid), "L " + s["L"], side="below", fontsize=7)
    _box(ax, 7.1, mid, 1.7, 0.8, "hypercolumn:\nstages 2-4 upsampled\nand concatenated", HEAD, fontsize=7.5)
    _arrow(ax, (5.25, mid), (6.25, mid), s["stages"], side="below", fontsize=6.5)
    _box(ax, 9.7, mid, 1.4, 0.8, "head: two\n1x1 convolutions", HEAD, fontsize=8.5)
    _arrow(ax, (7.95, mid), (9.0, mid), s["hypercolumn"], side="below", fontsize=6.5)
    ax.text(9.7, mid - 0.46, "via " + s["hidden"], ha="center", va="top", fontsize=6.5, family="monospace")
    ax.text(right, mid, "logits\n" + s["logits"], ha="center", va="center", fontsize=7, family="monospace")
    _arrow(ax, (10.4, mid), (11.05, mid))
    # Training: the true ab, soft-encoded over the bins, is the target of a rebalanced cross-entropy.
    _arrow(ax, (2.15, mid + 0.28), (2.15, top - 0.28), "ab " + s["ab"], side="right", fontsize=7)
    _box(
        ax,
        5.6,
        top,
        5.2,
        0.55,
        f"ab pooled to {s['target']}; each pixel soft-encoded onto its 5 nearest bins",
        DATA,
        fontsize=7.5,
    )
    _arrow(ax, (2.15, top - 0.28), (2.98, top))
    _box(ax, right, top, 2.0, 0.6, "rebalanced cross-entropy\n(rare colours weigh more)", LOSS, fontsize=7.5)
    _arrow(ax, (8.2, top), (10.85, top), "target " + s["soft"], side="above", fontsize=6.5)
    _arrow(ax, (right, mid + 0.25), (right, top - 0.3))
    # Use: the annealed mean turns each pixel's distribution into one colour.
    _box(ax, right, low, 2.0, 0.6, "annealed mean (T = 0.38)\n-> ab, upsampled", DROP, fontsize=7.5)
    _arrow(ax, (right, mid - 0.25), (right, low + 0.3))
    _arrow(ax, (10.85, low), (9.0, low), "ab " + s["output"], side="above", fontsize=6.5)
    ax.text(8.9, low, "+ L = a colour image", ha="right", va="center", fontsize=8)
    ax.text(
        2.8,
        low,
        "training: the top row is the target\ncolouring a photo: the bottom row",
        ha="center",
        va="center",
        fontsize=8,
        style="italic",
    )
    return fig


def _simclr(s: dict):
    W, H = 11.6, 4.4
    fig, ax = _canvas(W, H)
    _title(ax, W, H, "SimCLR: two views of one image should agree, and differ from the other 2B - 2 views")
    yA, yB, ym = 3.0, 1.2, 2.1
    _box(ax, 0.75, ym, 1.15, 0.75, "image x\n" + s["x"], DATA, fontsize=8)
    for y, name, t in ((yA, "1", "t"), (yB, "2", "t'")):
        _arrow(ax, (1.33, ym), (2.05, y), f"{t} ~ T", side="right", fontsize=8)
        _box(ax, 2.75, y, 1.3, 0.6, f"view x{name}\ncrop, flip, colour", DATA, fontsize=8)
        _box(ax, 4.7, y, 1.5, 0.65, "f: ResNet-18\n(half width)", NET, fontsize=9)
        _arrow(ax, (3.4, y), (3.95, y))
        _box(ax, 7.3, y, 1.6, 0.65, "g: MLP\nLinear, BN, ReLU, Linear", HEAD, fontsize=7)
        _arrow(ax, (5.45, y), (6.5, y), f"h{name} {s['h']}", side="above" if y > ym else "below")
        _arrow(ax, (8.1, y), (9.3, y), f"z{name} {s['z']}", side="above" if y > ym else "below")
    ax.text(4.7, ym, "shared weights", ha="center", va="center", fontsize=8, color=EDGE[NET])
    ax.text(7.3, ym, "shared weights\nhidden " + s["hidden"], ha="center", va="center", fontsize=7, color=EDGE[HEAD])
    _box(
        ax,
        10.35,
        ym,
        2.1,
        yA - yB + 0.65,
        f"NT-Xent\n\ncosine similarities\nof all 2B views,\n{s['pairs']},\n"
        f"/ temperature {s['temperature']}\n\npull each pair together,\npush the rest apart",
        LOSS,
        fontsize=7.5,
    )
    ax.text(
        5.8,
        0.3,
        "probes read h (the representation); z exists only for the loss and is thrown away",
        ha="center",
        va="center",
        fontsize=8,
        style="italic",
    )
    return fig


def _mae(s: dict):
    W, H = 12.4, 4.6
    fig, ax = _canvas(W, H)
    _title(ax, W, H, f"MAE: hide {s['ratio']} of the patches, encode the visible ones, rebuild all of them")
    from matplotlib.patches import Rectangle

    # The patch grid: a picture of the L tokens, the hidden ones grey.
    g = int(round(int(s["L"]) ** 0.5))
    hidden = set(torch.randperm(g * g, generator=torch.Generator().manual_seed(3))[: int(s["hidden"])].tolist())
    ox, oy, cell = 0.3, 1.35, 0.25
    for i in range(g * g):
        r, c = divmod(i, g)
        fill = DROP if i in hidden else "#56B4E9"
        ax.add_patch(Rectangle((ox + c * cell, oy + (g - 1 - r) * cell), cell, cell, fc=fill, ec="white", lw=0.8))
    ax.text(
        ox + g * cell / 2,
        oy + g * cell + 0.08,
        f"image {s['x']}\n{s['L']} patches of {s['patch']}x{s['patch']} px",
        ha="center",
        va="bottom",
        fontsize=8,
    )
    ax.text(
        ox + g * cell / 2,
        oy - 0.08,
        f"blue: visible ({s['K']})\ngrey: hidden ({s['hidden']})",
        ha="center",
        va="top",
        fontsize=8,
    )
    top, low = oy + g * cell / 2, 1.0
    _box(ax, 3.35, top, 1.2, 0.7, "patchify,\nembed\n+ positions", DATA, fontsize=8)
    _arrow(ax, (ox + g * cell + 0.05, top), (2.75, top))
    _box(ax, 5.6, top, 1.4, 0.7, f"random masking:\nkeep {s['K']} of {s['L']}", DROP, fontsize=8)
    _arrow(ax, (3.95, top), (4.9, top), s["tokens"], fontsize=7)
    _box(
        ax, 8.05, top, 1.7, 0.85, f"encoder: ViT,\n{s['encoder_blocks']}, on the\nvisible tokens only", NET, fontsize=8
    )
    _arrow(ax, (6.3, top), (7.2, top), s["visible"], fontsize=7)
    _box(ax, 11.2, top, 1.7, 0.85, "a shared mask\ntoken at each\nhidden position", DROP, fontsize=8)
    _arrow(ax, (8.9, top), (10.35, top), f"{s['latent']}\ncls + {s['K']} tokens", fontsize=7)
    _box(
        ax, 11.2, low, 1.7, 0.85, f"light decoder,\n{s['decoder_blocks']}, on all\n{s['L']} positions", HEAD, fontsize=8
    )
    _arrow(ax, (11.2, top - 0.43), (11.2, low + 0.43), s["decoder_in"], side="right", fontsize=7)
    _box(ax, 8.05, low, 2.2, 0.7, f"mean squared error on\nthe {s['hidden']} hidden patches only", LOSS, fontsize=8)
    _arrow(ax, (10.35, low), (9.15, low), s["pred"], fontsize=7)
    ax.text(
        4.6,
        low,
        "after pre-training the decoder is thrown\naway: probes and fine-tuning use the encoder",
        ha="center",
        va="center",
        fontsize=8,
        style="italic",
    )
    return fig


_DRAW = {"context": _context, "colorization": _colorization, "simclr": _simclr, "mae": _mae}


def draw(method: str, **build_kw):
    """The diagram of `method` (one of METHODS) as a matplotlib Figure, labelled with `shapes(method)`."""
    return _DRAW[method](shapes(method, **build_kw)) if method in _DRAW else shapes(method)  # shapes() raises
