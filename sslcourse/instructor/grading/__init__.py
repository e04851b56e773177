"""Instructor grading: `python -m sslcourse grade SUBMISSIONS... --out grades.csv`.

Submissions are untrusted code. Each one runs alone (`batch`, `job`), in sandboxed processes
(`sandbox`: memory limit, own namespaces); its notebook runs in a fresh kernel for its status only
(`kernel`); its points come from the genuine checkers, in a process its code cannot reach, calling
its functions in another process (`remote`, `worker`, `wire`); what it may not touch is restored
after it (`guard`); the sheet is kept row by row and written at the end (`sheet`, `classroom`).
"""
