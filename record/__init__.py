"""What a run leaves in its folder: the files' names (run_files.py), what each epoch records (columns.py),
metrics.csv, TensorBoard and warnings (log.py), metrics.png (plot.py, axes.py), and the files each epoch writes
in background threads (epoch_files.py)."""
