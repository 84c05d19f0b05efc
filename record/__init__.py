"""What a run records in its folder (whose files run_files.py names): what each epoch records (columns.py),
metrics.csv, TensorBoard and warnings (log.py), metrics.png (plot.py, axes.py), and the files each epoch writes
in background threads (epoch_files.py)."""
