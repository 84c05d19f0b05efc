"""Training images, from where they come to each epoch's batches: sources.py (MNIST, Keras datasets,
the bundled digits, the dispatch to a folder), folder_cache.py (a folder decoded once into a cache),
pipeline.py (an epoch's shuffled, scaled batches with their noise)."""
