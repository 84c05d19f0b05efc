"""How the program writes, beneath everything else (it imports nothing of the program's): files written whole
or not at all (atomic.py), the names of a run folder's files (run_files.py), and progress lines for long work
on a terminal or in a log (progress.py)."""
