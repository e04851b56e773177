"""sslcourse: the library behind an executable course on self-supervised visual representation learning.

Modules: data (CIFAR-10), augment (batched GPU augmentations), models, train (one loop for every
method), evaluate (kNN, linear probe, few-label fine-tuning), pretrained (shipped weights), methods.
"""

__version__ = "0.1.0"
