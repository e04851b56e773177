"""Experiments behind the notebooks: each a library function, runnable as
`python -m sslcourse.experiments.<topic> <experiment> --device cuda --out sslcourse/results/<topic>/<name>.json`.

What every experiment's command line shares lives in `sslcourse.experiments.runner`: the common options, refusing
to overwrite a result, the device and seed, the provenance each shipped result carries. Here: the label a plot
gives its numbers.
"""

from __future__ import annotations

from sslcourse import provenance as _provenance
from sslcourse.experiments.runner import provenance, refuse_overwrite

__all__ = ["origin", "provenance", "refuse_overwrite"]


def origin(record: dict) -> str:
    """' (short CPU run: indicative only, not the method at its scale)' or ' (GPU run (...))': every plot title says where
    its numbers come from, in the words of `sslcourse.provenance.label`."""
    return f" ({_provenance.label(record)})"
