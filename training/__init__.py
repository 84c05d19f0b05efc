"""Training a run, from its settings to its trained generator: the loop in sections (loop.py) and one epoch of
it (epoch.py), the GAN's losses and compiled step (gan.py), DiffAugment (augment.py), the state it trains and
checkpoints (state.py) and its checkpoints (checkpoint.py), self-conditioning's clusters (clusters.py), what
each epoch writes (epoch_files.py), stopping on Ctrl-C (stopping.py), devices and tf.distribute
(distribute.py), and TensorFlow's start-up lines kept off the terminal (tflog.py). Nothing here imports
TensorFlow when the package is imported: train.py answers --help and mistakes before it loads."""
