"""Instructor grading: `python -m sslcourse grade SUBMISSIONS... --out grades.csv`.

Submissions are untrusted code. Each one runs alone (`batch`, `job`), in a bubblewrap sandbox inside
a cgroup of its own (`sandbox`, `cgroup`: read-only system and course, no network, its own PIDs, one
memory and process limit for all its processes, which score its row 0 when it runs into them, every one
of them ended before its row is written); grading refuses to start where that is not possible, unless
told `--isolation none` (`options`). Its
notebook runs in a fresh kernel for its status only (`kernel`); its points come from the genuine
checkers, in a process its code cannot reach, calling its functions in a worker that sees the package
without the graded references and checkers (`remote`, `worker`, `wire`, `view`); what it may not touch
is checked after it (`guard`); the sheet is kept row by row and written at the end (`sheet`, `classroom`).
Written questions are graded by hand: their answers are read, never run, and listed for the instructor in
a file beside the sheet (`written`).
"""
