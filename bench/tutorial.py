"""The TensorFlow DCGAN tutorial (tensorflow.org/tutorials/generative/dcgan) as one program: the reference
that bench/overhead.py times `python train.py` against, and whose step bench/speed.py times.

  python bench/tutorial.py --epochs 3 --limit 4096 --out /tmp/tutorial

Its code as the tutorial has it, with three changes a script needs: the digits are the bundled MNIST
ones (MNIST cannot be downloaded everywhere), the files go to --out, and the notebook's display calls
(display.clear_output, plt.show) are left out, with each figure closed once saved. Everything else is the tutorial's: a matplotlib figure of
16 digits per epoch, a checkpoint every 15 epochs, the GIF made once at the end.
"""

import argparse
import glob
import os
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BUFFER_SIZE = 60000
BATCH_SIZE = 256
NOISE_DIM = 100
NUM_EXAMPLES_TO_GENERATE = 16


def make_models(tf):
    """The tutorial's generator and discriminator."""
    layers = tf.keras.layers
    warnings.filterwarnings("ignore", message="Do not pass an `input_shape`")  # Keras 3 on the tutorial's style

    def make_generator_model():
        model = tf.keras.Sequential()
        model.add(layers.Dense(7 * 7 * 256, use_bias=False, input_shape=(100,)))
        model.add(layers.BatchNormalization())
        model.add(layers.LeakyReLU())
        model.add(layers.Reshape((7, 7, 256)))
        model.add(layers.Conv2DTranspose(128, (5, 5), strides=(1, 1), padding="same", use_bias=False))
        model.add(layers.BatchNormalization())
        model.add(layers.LeakyReLU())
        model.add(layers.Conv2DTranspose(64, (5, 5), strides=(2, 2), padding="same", use_bias=False))
        model.add(layers.BatchNormalization())
        model.add(layers.LeakyReLU())
        model.add(layers.Conv2DTranspose(1, (5, 5), strides=(2, 2), padding="same", use_bias=False,
                                         activation="tanh"))
        return model

    def make_discriminator_model():
        model = tf.keras.Sequential()
        model.add(layers.Conv2D(64, (5, 5), strides=(2, 2), padding="same", input_shape=[28, 28, 1]))
        model.add(layers.LeakyReLU())
        model.add(layers.Dropout(0.3))
        model.add(layers.Conv2D(128, (5, 5), strides=(2, 2), padding="same"))
        model.add(layers.LeakyReLU())
        model.add(layers.Dropout(0.3))
        model.add(layers.Flatten())
        model.add(layers.Dense(1))
        return model

    return make_generator_model(), make_discriminator_model()


def make_train_step(tf, generator, discriminator, generator_optimizer, discriminator_optimizer,
                    batch_size=BATCH_SIZE):
    """The tutorial's losses and its @tf.function training step."""
    cross_entropy = tf.keras.losses.BinaryCrossentropy(from_logits=True)

    def discriminator_loss(real_output, fake_output):
        real_loss = cross_entropy(tf.ones_like(real_output), real_output)
        fake_loss = cross_entropy(tf.zeros_like(fake_output), fake_output)
        return real_loss + fake_loss

    def generator_loss(fake_output):
        return cross_entropy(tf.ones_like(fake_output), fake_output)

    @tf.function
    def train_step(images):
        noise = tf.random.normal([batch_size, NOISE_DIM])
        with tf.GradientTape() as gen_tape, tf.GradientTape() as disc_tape:
            generated_images = generator(noise, training=True)
            real_output = discriminator(images, training=True)
            fake_output = discriminator(generated_images, training=True)
            gen_loss = generator_loss(fake_output)
            disc_loss = discriminator_loss(real_output, fake_output)
        gradients_of_generator = gen_tape.gradient(gen_loss, generator.trainable_variables)
        gradients_of_discriminator = disc_tape.gradient(disc_loss, discriminator.trainable_variables)
        generator_optimizer.apply_gradients(zip(gradients_of_generator, generator.trainable_variables))
        discriminator_optimizer.apply_gradients(zip(gradients_of_discriminator, discriminator.trainable_variables))
        return gen_loss

    return train_step


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--limit", type=int, help="train on the first N bundled digits")
    parser.add_argument("--out", type=Path, default=Path("tutorial_output"))
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import imageio.v2 as imageio  # the API the tutorial was written for
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import tensorflow as tf

    from data import sources

    args.out.mkdir(parents=True, exist_ok=True)
    train_images = sources.load_sample()[:args.limit]
    train_images = train_images.reshape(train_images.shape[0], 28, 28, 1).astype("float32")
    train_images = (train_images - 127.5) / 127.5  # Normalize the images to [-1, 1]
    train_dataset = tf.data.Dataset.from_tensor_slices(train_images).shuffle(BUFFER_SIZE).batch(BATCH_SIZE)

    generator, discriminator = make_models(tf)
    generator_optimizer = tf.keras.optimizers.Adam(1e-4)
    discriminator_optimizer = tf.keras.optimizers.Adam(1e-4)
    checkpoint_prefix = os.path.join(args.out, "training_checkpoints", "ckpt")
    checkpoint = tf.train.Checkpoint(generator_optimizer=generator_optimizer,
                                     discriminator_optimizer=discriminator_optimizer,
                                     generator=generator, discriminator=discriminator)
    train_step = make_train_step(tf, generator, discriminator, generator_optimizer, discriminator_optimizer)
    seed = tf.random.normal([NUM_EXAMPLES_TO_GENERATE, NOISE_DIM])

    def generate_and_save_images(model, epoch, test_input):
        predictions = model(test_input, training=False)
        fig = plt.figure(figsize=(4, 4))
        for i in range(predictions.shape[0]):
            plt.subplot(4, 4, i + 1)
            plt.imshow(predictions[i, :, :, 0] * 127.5 + 127.5, cmap="gray")
            plt.axis("off")
        plt.savefig(args.out / "image_at_epoch_{:04d}.png".format(epoch))
        plt.close(fig)

    def train(dataset, epochs):
        for epoch in range(epochs):
            start = time.time()
            for image_batch in dataset:
                train_step(image_batch)
            generate_and_save_images(generator, epoch + 1, seed)
            if (epoch + 1) % 15 == 0:
                checkpoint.save(file_prefix=checkpoint_prefix)
            print("Time for epoch {} is {} sec".format(epoch + 1, time.time() - start))
        generate_and_save_images(generator, epochs, seed)

    train(train_dataset, args.epochs)
    with imageio.get_writer(args.out / "dcgan.gif", mode="I") as writer:
        filenames = sorted(glob.glob(str(args.out / "image*.png")))
        for filename in filenames:
            writer.append_data(imageio.imread(filename))


if __name__ == "__main__":
    main()
