"""The notebooks' toolchain, behind `python -m sslcourse notebooks sync|check`, `assign` and `slides`.

- pairs: notebooks/NN_topic.py (jupytext percent format, the reviewed source) and its .ipynb, built
  deterministically, with the exercise markup (solution markers, nbgrader metadata) validated.
- run: executing a notebook the same way everywhere (this Python, this checkout, the CPU), tidily.
- sync: rebuild and execute the .ipynb of each .py; check which pairs are out of date.
- assign: student versions in notebooks/student/, solutions replaced by stubs.
- slides: offline reveal.js decks from the cells tagged for slides; deck: which cells make which slides,
  and what goes to the speaker notes; lead: what a markdown cell keeps on its slide (at most 40 words);
  prose: markdown taken apart into blocks, sentences, clauses and words.
"""
