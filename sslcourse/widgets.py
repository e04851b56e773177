"""Small interactive widgets for the notebooks; written for ipywidgets 7 and 8 alike
(only `observe(..., names="value")`, `Output`, `Dropdown`, `IntSlider` and boxes, whose APIs did not change)."""

from __future__ import annotations

import torch


def cifar_browser(images: torch.Tensor, labels: torch.Tensor, classes=None, per_page: int = 32):
    """Browse a labelled image set one class at a time. Returns the widget (display it, or let the cell show it).

    Shape: images (N, 3, H, W) uint8, labels (N,).
    """
    import ipywidgets as widgets
    import matplotlib.pyplot as plt
    from IPython.display import display

    from sslcourse.data import CLASSES
    from sslcourse.viz import image_grid

    classes = classes or CLASSES
    by_class = {c: torch.nonzero(labels == c).flatten() for c in range(len(classes))}
    pick = widgets.Dropdown(options=[(name, i) for i, name in enumerate(classes)], value=0, description="class")
    page = widgets.IntSlider(value=0, min=0, max=max(0, len(by_class[0]) // per_page - 1), description="page")
    out = widgets.Output()

    def render(_=None):
        idx = by_class[pick.value]
        page.max = max(0, (len(idx) - 1) // per_page)
        shown = idx[page.value * per_page : (page.value + 1) * per_page]
        with out:
            out.clear_output(wait=True)
            fig, ax = plt.subplots(figsize=(8, 1.1 * ((len(shown) + 7) // 8)))
            image_grid(
                images[shown],
                nrow=8,
                ax=ax,
                title=f"{classes[pick.value]}: {len(idx)} images, page {page.value + 1} of {page.max + 1}",
            )
            display(fig)
            plt.close(fig)

    pick.observe(render, names="value")
    page.observe(render, names="value")
    render()
    return widgets.VBox([widgets.HBox([pick, page]), out])


def two_views(images: torch.Tensor, first: str = "crop", second: str = "color", max_draw: int = 20):
    """Pick two augmentations (the first, then the second) and see the originals and two random views of
    each image made by that composition. Returns the widget.

    Shape: images (N, 3, H, W) uint8.
    """
    import ipywidgets as widgets
    import matplotlib.pyplot as plt
    from IPython.display import display

    from sslcourse.augment import AUGMENTATIONS
    from sslcourse.methods.simclr import pair_augmentation
    from sslcourse.viz import image_grid

    names = [n for n in AUGMENTATIONS if n != "translate"]
    pick_first = widgets.Dropdown(options=names, value=first, description="first")
    pick_second = widgets.Dropdown(options=names, value=second, description="second")
    draw = widgets.IntSlider(value=0, min=0, max=max_draw, description="draw")
    out = widgets.Output()

    def render(_=None):
        pipeline = pair_augmentation(pick_first.value, pick_second.value)
        gen = torch.Generator().manual_seed(draw.value)
        views = torch.cat([images.float() / 255, pipeline(images, gen), pipeline(images, gen)])
        with out:
            out.clear_output(wait=True)
            fig, ax = plt.subplots(figsize=(8, 3.2))
            image_grid(views, nrow=len(images), ax=ax, title=f"originals, then two views: {pipeline}")
            display(fig)
            plt.close(fig)

    for w in (pick_first, pick_second, draw):
        w.observe(render, names="value")
    render()
    return widgets.VBox([widgets.HBox([pick_first, pick_second, draw]), out])


def parse_pipeline(text: str) -> list[str]:
    """Augmentation names from text such as "crop, color, blur" (commas, spaces or arrows between them), in
    order. Raises ValueError naming the unknown names and listing the valid ones."""
    from sslcourse.augment import AUGMENTATIONS

    names = [n for n in text.replace("->", ",").replace(" ", ",").split(",") if n]
    unknown = [n for n in names if n not in AUGMENTATIONS]
    if unknown:
        raise ValueError(
            f"unknown augmentation {', '.join(map(repr, unknown))}: choose from {', '.join(AUGMENTATIONS)}"
        )
    return names


def augmentation_composer(images: torch.Tensor, start: str = "crop, color", max_draw: int = 20):
    """Compose your own augmentation pipeline and see the pair of views it makes, SimCLR's way (both views
    drawn from the pipeline) or the paper's Figure 5 way (one view left as it is). Type the operations in
    order ("crop, flip, color, blur"); an unknown name is reported under the box. Returns the widget.

    Shape: images (N, 3, H, W) uint8.
    """
    import ipywidgets as widgets
    import matplotlib.pyplot as plt
    from IPython.display import display

    from sslcourse import augment
    from sslcourse.viz import image_grid

    box = widgets.Text(value=start, description="pipeline", continuous_update=False)
    one_branch = widgets.Checkbox(value=False, description="one branch only (the paper's Figure 5)")
    draw = widgets.IntSlider(value=0, min=0, max=max_draw, description="draw")
    out = widgets.Output()
    names = ", ".join(augment.AUGMENTATIONS)

    def render(_=None):
        with out:
            out.clear_output(wait=True)
            try:
                pipeline = augment.compose(parse_pipeline(box.value)) if box.value.strip() else None
            except ValueError as err:
                print(err)
                return
            gen = torch.Generator().manual_seed(draw.value)
            originals = images.float() / 255
            view = (lambda: pipeline(images, gen)) if pipeline else (lambda: originals)
            first = originals if one_branch.value else view()
            fig, ax = plt.subplots(figsize=(8, 3.2))
            image_grid(
                torch.cat([originals, first, view()]),
                nrow=len(images),
                ax=ax,
                title=f"originals, then the two views of each image: {box.value or 'no augmentation'}",
            )
            display(fig)
            plt.close(fig)
            print(f"operations you can use, in any order: {names}")

    for w in (box, one_branch, draw):
        w.observe(render, names="value")
    render()
    return widgets.VBox([widgets.HBox([box, draw]), one_branch, out])
