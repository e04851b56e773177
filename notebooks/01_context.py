# %% [markdown] slideshow={"slide_type": "slide"}
# # 01 · Context prediction: where does this patch go?
#
# Language models had learned word meanings without any labels by predicting a word from the words around
# it (word2vec). In 2015 Carl Doersch, Abhinav Gupta and Alexei Efros asked whether pictures could teach
# themselves the same way (*Unsupervised Visual Representation Learning by Context Prediction*, ICCV 2015):
#
# > Cut a 3x3 grid of patches out of a photograph. Show the network the **middle patch** and **one of its
# > eight neighbours**, and ask: *where does the neighbour go?*
#
# Nobody has to label anything: the answer comes from where the patches were cut. Yet to answer, a network
# has to know that a cat's ear sits above its eye and a wheel below a car door, so it has to recognise
# object parts. Chance is 1 in 8 (12.5%).
#
# Pre-trained this way on ImageNet *without its labels*, their network improved PASCAL VOC 2007 detection
# from 40.7 mAP (trained from scratch) to 46.3; ImageNet labels gave 54.2. The bet was not won yet, but
# for the first time a puzzle with no human labels was clearly worth something.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## The plan for this notebook
#
# 1. Cut a pair of patches the way the paper does: `sample_patch_pair` (exercise).
# 2. The **trivial shortcut**: without a gap between the patches, a few lines of code that never learn
#    anything solve most of the puzzle. Gap and jitter close it.
# 3. The pair network, and a few seconds of training with your sampler.
# 4. Gap and jitter on or off: pretext accuracy against the quality of the features (shipped results).
# 5. The **subtle shortcut**, chromatic aberration, on a real photograph; its cure `remove_green_magenta`
#    (exercise); how well a network can tell where a patch sat in the image, with and without the cure.
# 6. What the network learned: nearest neighbours of patches; context prediction on the scoreboard.

# %%
import matplotlib.pyplot as plt
import torch

from sslcourse import data, pretrained, scoreboard
from sslcourse.device import seed_everything
from sslcourse.experiments import context as experiments
from sslcourse.experiments import context_plots
from sslcourse.methods import context, context_shortcuts

seed_everything(0)
test_images, test_labels = data.load_cifar10("test")
print(f"test images: {tuple(test_images.shape)} {test_images.dtype}")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 1. Patches on a grid, at CIFAR-10's scale
#
# The paper works on ImageNet photographs: patches of 96 pixels, a **gap** of 48 pixels between
# neighbours, and each patch **jittered** by up to 7 pixels. A CIFAR-10 image is 32x32: three patches and
# two gaps across it would leave patches of about 8 pixels, too small to hold an object part and too
# small for our ResNet. So we **upsample every image 2x, to 64x64**, and use **16-pixel patches, a 4-pixel
# gap and a jitter of up to 2 pixels**: the grid then needs 3·16 + 2·4 + 2·2 = 60 of the 64 pixels,
# and each patch covers about a quarter of the original image's width. Smaller than the paper in every
# way, but the proportions (gap a quarter of the patch, jitter a small fraction) are alike.
#
# Write `sample_patch_pair(image, patch, gap, jitter, generator)`:
#
# - `image` is (C, H, W); the 3x3 grid has patches `patch` pixels wide, their corners `patch + gap` apart;
# - place the grid at a **random position** inside the image, leaving a `jitter` margin on every side;
# - pick the neighbour among the 8 around the centre; its **label** counts row by row, skipping the
#   centre: 0 top-left, 1 top, 2 top-right, 3 left, 4 right, 5 bottom-left, 6 bottom, 7 bottom-right;
# - move **each** of the two patches by **its own** random whole number of pixels in [-jitter, jitter]
#   on each axis (both ends included);
# - return `(center, neighbor, label)`, the two patches (C, patch, patch) and the label;
# - raise a `ValueError` if the image is smaller than 3·patch + 2·gap + 2·jitter on either side;
# - draw every random number from `generator` (`torch.randint(low, high, (1,), generator=generator)`:
#   mind that `high` is excluded).

# %% nbgrader={"grade": false, "grade_id": "sample_patch_pair", "locked": false, "solution": true}
def sample_patch_pair(image, patch, gap, jitter, generator):
    """The centre patch of a random 3x3 grid, one of its 8 neighbours, and the neighbour's label (0-7).

    Shape: (C, H, W) -> (C, patch, patch), (C, patch, patch), int
    """
    # BEGIN SOLUTION
    _, H, W = image.shape
    span = 3 * patch + 2 * gap
    if min(H, W) < span + 2 * jitter:
        raise ValueError(f"the grid needs {span + 2 * jitter} pixels, the image is {H}x{W}")

    def draw(low, high):  # a whole number in [low, high], both included
        return int(torch.randint(low, high + 1, (1,), generator=generator))

    top, left = draw(jitter, H - span - jitter), draw(jitter, W - span - jitter)
    label = draw(0, 7)
    row, col = [(r, c) for r in range(3) for c in range(3) if (r, c) != (1, 1)][label]
    step = patch + gap
    cy, cx = top + step + draw(-jitter, jitter), left + step + draw(-jitter, jitter)
    ny, nx = top + row * step + draw(-jitter, jitter), left + col * step + draw(-jitter, jitter)
    return image[:, cy:cy + patch, cx:cx + patch], image[:, ny:ny + patch, nx:nx + patch], label
    # END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_sample_patch_pair", "locked": true, "points": 3}
from sslcourse.checks.context import check_sample_patch_pair

result_pair = check_sample_patch_pair(sample_patch_pair)

# %%
sample_pair = result_pair.choose(sample_patch_pair, context.sample_patch_pair)
one_per_class = data.few_label_indices(test_labels, 1)  # the test files are sorted by class
context_plots.show_pairs(test_images[one_per_class[[0, 3, 7]]], sample_pair,
                         title="CIFAR-10 upsampled to 64 px: centre (white) and neighbour (yellow)")
plt.show()

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 2. The trivial shortcut, and why a gap and jitter close it
#
# Photographs are continuous: a line or a colour that leaves one patch carries on into the next. If the
# neighbour touches the centre patch, comparing the pixels along the shared border gives the answer, and a
# network trained on such pairs learns to compare borders, not to recognise anything.
#
# We do not even need a network to show it. `context_shortcuts.border_match` tries the 8 positions and
# picks the one where the touching border pixels differ least: no learning, no parameters. Its accuracy
# on 2,000 test images, with and without the paper's cures:

# %%
x64 = context.upsample(test_images[:2000].float() / 255, 2)
for gap, jitter in ((0, 0), (0, 2), (4, 0), (4, 2)):
    center, neighbor, labels = context.sample_patch_pairs(x64, 16, gap, jitter, torch.Generator().manual_seed(0))
    accuracy = 100 * (context_shortcuts.border_match(center, neighbor) == labels).float().mean().item()
    print(f"gap {gap}, jitter {jitter}: border matching, no learning at all: {accuracy:5.1f}%  (chance 12.5%)")

# %% [markdown]
# Three quarters of the puzzle fall to a pixel comparison when the patches touch. Jitter alone helps a
# little; the gap does most of the work, because the border pixels are now 4 pixels apart (at the original
# resolution, two pixels of another part of the scene). What stays above chance with the gap is real but
# weak evidence (sky and walls are smooth on large scales), which a network can only beat by understanding
# more. This is the slide *"you don't always need to learn!"*: a puzzle is only as good as its cheapest
# solution.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 3. The pair network
#
# Both patches go through **one shared backbone** (our ResNet-18: the same weights for both, so it learns
# one representation of a patch); the two feature vectors are **concatenated**, and a small MLP maps them
# to 8 scores. The backbone alone is kept for the probes: it never sees the other patch, so everything
# it knows is about one patch. `sslcourse.methods.context.ContextPrediction` does this (the library's
# sampler draws the pairs of a whole batch at once on the device; yours plugs in through
# `per_image_sampler`, which loops over the batch).
#
# Colour: the library also projects every patch onto the plane orthogonal to the green-magenta axis,
# section 5's cure, in training and when the probes read the backbone.
#
# A few seconds of training with your sampler (500 images, a narrow network; far too short to learn
# much, the real runs follow):

# %% tags=["nbval-ignore-output"]
from sslcourse.train import TrainConfig, train

torch.manual_seed(0)
model = context.build(width=0.125, hidden=128)
model.sampler = context.per_image_sampler(sample_pair)
subset = data.few_label_indices(test_labels, 50)
run = train(model, test_images[subset], test_labels[subset],
            TrainConfig(epochs=2, batch_size=50, optimizer="adamw", lr=2e-3, nan_check_every=5), device=device,
            progress=False)
print(f"{run.steps} steps in {run.seconds:.0f} s; loss every 5 steps:", " ".join(f"{h['loss']:.3f}" for h in run.history))
print(f"(chance: ln 8 = {torch.log(torch.tensor(8.0)):.3f})")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 4. Gap and jitter, on or off: an easier puzzle, worse features
#
# The experiment: two pair networks with the same budget, one trained on pairs with the 4-pixel gap and
# 2-pixel jitter, one on touching patches without jitter. Each is scored twice:
#
# - **pretext accuracy**: the 8-way puzzle on held-out pairs drawn its own way (and, for the one trained
#   without, also on pairs with the gap);
# - **feature quality**: kNN and a linear probe on CIFAR-10 classes, from the frozen backbone (whole
#   images, upsampled as in training).
#
# The same backbone untrained is the floor: a random ResNet's features already carry some information.

# %%
gj = experiments.load("gap_jitter")
print(f"computed on {gj['computed_on']} ({gj['device']}) in {gj['wall_time_s']:.0f} s; "
      f"{gj['results']['n_train']} training images for the pretext, probes on "
      f"{gj['settings']['probe_train']} training and {gj['results']['n_test']} test images; ResNet-18 width "
      f"{gj['settings']['width']}")
print("made by:", gj["command"])
for name, r in gj["results"]["variants"].items():
    extra = (f"  (on pairs with the gap: {r['pretext_top1_cured_pairs']:.1f}%)" if r.get("gap") == 0 else "")
    budget = f", {r['epochs']:.1f} epochs" if "epochs" in r else ""
    print(f"  {name:18s} pretext {r['pretext_top1']:5.1f}%   kNN {r['knn_top1']:5.1f}%   "
          f"linear {r['linear_top1']:5.1f}%{budget}{extra}")

# %%
context_plots.plot_gap_jitter(gj)
plt.show()

# %% [markdown]
# Read the two panels against each other. The paper's claim: without the gap the puzzle is much easier
# (the network finds the border shortcut), and the features it learns that way are worse for recognising
# objects. Check both halves of the claim in our numbers, and check **where they come from** (the
# title): a CPU run of a few minutes trains a narrow network for a couple of epochs, and differences of a
# point or two in the probes are within the noise of a 2,000-image test set. The GPU run is the one to
# trust for small gaps.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 5. The subtle shortcut: chromatic aberration
#
# With gap and jitter in place, Doersch and colleagues found their network still solving the puzzle in a
# way no human would: by telling **where in the whole photograph a patch was**. A lens does not focus all
# wavelengths alike; in many cameras the green channel comes out slightly shrunk toward the image centre
# relative to red and blue. At the centre nothing shows; toward the edges green and magenta fringes appear
# on every contrast edge, growing with the distance from the centre. A patch's fringes therefore say
# where it was, and from two absolute positions the relative one follows.
#
# `context_shortcuts.chromatic_aberration(images, strength)` simulates it: each channel is magnified about
# the image centre by its own factor (here green by 1 - strength). On a real photograph (scikit-image's
# astronaut, 512x512), the top-left corner zoomed in:

# %%
photos = data.sample_photos()
context_plots.show_aberration_photo(photos["astronaut"], strength=0.01, corner=48,
                                    title="simulated chromatic aberration: green shrunk by 1% toward the centre")
plt.show()

# %% [markdown]
# The cures the paper tried: **colour dropping** (keep one channel of each patch at random, replace the two
# others with faint noise, so no channel can be compared with another) and **projection**: remove every
# pixel's component along the green-magenta axis $a = [-1, 2, -1]$ (green against the mean of red and
# blue), by multiplying its RGB vector by
#
# $$B = I - \frac{a^\top a}{a\,a^\top}.$$
#
# Write `remove_green_magenta(image)`: `image` is (3, H, W), RGB; return the (3, H, W) image with every
# pixel multiplied by $B$ (a projection matrix is symmetric, so the side does not matter). A grey pixel
# keeps its value; a pixel along $a$ becomes 0. Do not change the input.

# %% nbgrader={"grade": false, "grade_id": "remove_green_magenta", "locked": false, "solution": true}
def remove_green_magenta(image):
    """Project every pixel's RGB onto the plane orthogonal to a = [-1, 2, -1].

    Shape: (3, H, W) -> (3, H, W)
    """
    # BEGIN SOLUTION
    a = torch.tensor([[-1.0, 2.0, -1.0]], dtype=image.dtype)  # (1, 3)
    B = torch.eye(3, dtype=image.dtype) - a.T @ a / (a @ a.T)
    return (image.permute(1, 2, 0) @ B).permute(2, 0, 1)  # (H, W, 3) @ (3, 3), back to (3, H, W)
    # END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_remove_green_magenta", "locked": true, "points": 2}
from sslcourse.checks.context import check_remove_green_magenta

result_projection = check_remove_green_magenta(remove_green_magenta)

# %%
project = result_projection.choose(remove_green_magenta, context.remove_green_magenta)
photo = photos["astronaut"].float() / 255
aberrated = context_shortcuts.chromatic_aberration(photo, 0.01)
corner = slice(0, 48)
a = torch.tensor([-1.0, 2.0, -1.0])[:, None, None] / 6 ** 0.5
for name, fn in (("as it is", lambda x: x), ("projected", project)):
    diff = fn(aberrated)[:, corner, corner] - fn(photo)[:, corner, corner]  # what the aberration changed
    colour = (diff * a).sum(0).abs().mean().item()  # along green-magenta
    grey = diff.mean(0).abs().mean().item()  # the same in all three channels
    print(f"{name:10s}: aberration's change in the corner, green-magenta part {colour:.4f}, grey part {grey:.4f}")

# %% [markdown]
# The projection removes the coloured fringes entirely, but not everything: shifting green alone also
# shifts the brightness a little (green carries a third of it), and that grey ghost survives the
# projection. The paper saw the same: projection helped but did not remove all the evidence.
#
# ### How much does a patch give away? Absolute-position regression
#
# The paper measured the shortcut directly: a network trained to predict a patch's position in the whole
# image, from the patch alone. Its error (distance from the true position, image size 1): **0.255** on raw
# patches, **0.321** after projection, against **0.371** for always guessing the centre.
#
# Ours, at CIFAR scale: CIFAR images upsampled to 64 px, aberrated with strength 0.05 (green 5% smaller,
# up to about 1.5 pixels off at the edges), 16-pixel patches anywhere in the image. The same regressor is
# trained under four conditions with equal budgets: clean images (a control: CIFAR photos are centred
# on their object and have sky on top, so content alone gives some position away), aberrated with raw
# colour, projected, and colour-dropped.

# %%
ab = experiments.load("aberration")
print(f"computed on {ab['computed_on']} ({ab['device']}) in {ab['wall_time_s']:.0f} s; "
      f"{ab['results']['n_train']} training and {ab['results']['n_test']} test images; ResNet-18 width "
      f"{ab['settings']['width']}, strength {ab['settings']['strength']}")
print("made by:", ab["command"])
for name, r in ab["results"]["conditions"].items():
    print(f"  {name:27s} error {r['error']:.3f}   (always the centre: {r['centre_error']:.3f})")

# %%
context_plots.plot_aberration(ab)
plt.show()

# %% [markdown]
# Compare with the paper: does the raw-colour regressor beat the control by as much as the paper's beats
# the centre guess, and does the projection undo part of it? Keep in mind the differences: simulated
# aberration on upsampled thumbnails, a narrow network trained for minutes on a CPU (see the title), and
# a control that the paper did not report. If our gaps are small or ordered differently from the paper's,
# that is what we measured, and the GPU run with a longer budget is the one to settle it.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 6. What did the network learn?
#
# The paper's most striking figure: for a query patch, the patches whose features are closest. In pixel
# space, the neighbours share colours and brightness; in the learned space they can share *what* they
# show (a wheel, an eye) across different colours and backgrounds. Ours: the shipped context backbone,
# 16-pixel patches from 600 test images (a 4x4 grid each), six textured queries (flat patches match every
# other flat patch), five neighbours in feature space (blue frames) and five in pixel space.

# %%
card = pretrained.card("context_resnet18")
print(f"{card['name']}: trained on {card['trained_on']} ({card['device']}), {card['epochs']} epochs in "
      f"{card['wall_time_s']:.0f} s; ResNet-18 width {card['method_kwargs'].get('width')}; patch "
      f"{card['method_kwargs'].get('patch', 16)}, gap {card['method_kwargs'].get('gap')}, jitter "
      f"{card['method_kwargs'].get('jitter')}; pretext accuracy {card['metrics']['pretext_top1']:.1f}%")
backbone = pretrained.load("context_resnet18", device=device)
patches = context_plots.grid_patches(test_images[:600])  # (9600, 3, 16, 16)
queries = context_plots.textured_queries(patches, 6)
by_features, by_pixels = context_plots.nearest_neighbours(backbone, patches, queries)
context_plots.show_neighbours(patches, queries, by_features, by_pixels,
                              title=f"nearest neighbours: learned features (left) vs raw pixels (right); "
                                    f"context_resnet18 ({card['trained_on']} run)")
plt.show()

# %% [markdown]
# With a backbone trained for minutes on a CPU, expect neighbours that mostly agree on colour and layout of
# edges; the GPU-trained network's neighbours should agree more often on content. The paper's own figure
# came from days of training on ImageNet.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 7. The scoreboard
#
# The context row is the shipped backbone measured with the course's protocol (`python -m sslcourse eval
# context_resnet18`: kNN and a linear probe on all 50,000 training images, tested on all 10,000). The
# second column says where it was computed: while it says CPU, the row is a narrow network after a few
# minutes on a CPU, not what context prediction can do.

# %% tags=["nbval-ignore-output"]
print(scoreboard.table())

# %% [markdown]
# ### Run the real experiments (GPU)
#
# With a GPU, run this cell by hand (it is skipped when the notebook is built): it trains the pair
# network at the course's width 0.5 for 100 epochs with both cures, ships it, measures it with the
# protocol, and reruns both experiments with full budgets, over the shipped results. Expect well under an
# hour on one recent GPU.

# %% tags=["skip-execution"]
import subprocess
import sys

for args in (
    ["-m", "sslcourse.experiments.context", "gapjitter", "--device", "cuda", "--epochs", "100", "--width", "0.5",
     "--batch-size", "512", "--probe-train", "50000", "--test-subset", "10000",
     "--out", "sslcourse/results/context/gap_jitter.json", "--run", "runs/context_resnet18", "--force"],
    ["-m", "sslcourse", "ship", "runs/context_resnet18", "context_resnet18", "--force"],
    ["-m", "sslcourse", "eval", "context_resnet18", "--device", "cuda",
     "--out", "sslcourse/results/protocol/context_resnet18.json", "--force"],
    ["-m", "sslcourse.experiments.context", "aberration", "--device", "cuda", "--epochs", "30", "--width", "0.5",
     "--batch-size", "512", "--test-subset", "10000",
     "--out", "sslcourse/results/context/aberration.json", "--force"],
):
    subprocess.run([sys.executable, *args], check=True)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## What to remember
#
# - Context prediction turns an unlabelled photograph into a labelled puzzle: which of 8 positions does this
#   patch take around that one? Solving it well requires knowing how object parts fit together.
# - A puzzle is only as good as its cheapest solution. Touching patches are solved by border continuity
#   (three quarters right with no learning at all); a gap and jitter close that door.
# - A subtler door: chromatic aberration tells a patch's place in the photograph. Projecting out the
#   green-magenta axis or dropping colour closes most of it.
# - Measured the course's way, the pretext accuracy says little about the features: the probes do.
# - Next: **colorization** (notebook 02), a puzzle with a different answer to "what must the network know?"
