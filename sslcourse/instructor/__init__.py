"""The tools instructors run: grading a classroom, building and checking the notebooks and their student
versions, slides, the Colab cells and the release tag they name, running the whole course, packing the data.

The library that students read (data, augment, models, train, evaluate, methods, experiments, checks,
pretrained, scoreboard, findings, widgets) never imports from here; the arrows go from these tools to the
library only (pyproject.toml's [tool.importlinter] contract, checked by the tests).
"""
