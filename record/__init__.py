"""What a run records in its folder: what each epoch records (columns.py), metrics.csv, TensorBoard and
warnings (log.py), metrics.png (plot.py, axes.py), image grids and the GIF (images.py), and a saved generator
with its classes and epoch (generator_files.py). training/epoch_files.py writes them each epoch."""
