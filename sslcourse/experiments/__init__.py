"""Experiments behind the notebooks: each a library function, runnable as
`python -m sslcourse.experiments.<topic> <experiment> --device cuda --out sslcourse/results/<topic>/<name>.json`."""
