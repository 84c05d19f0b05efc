"""What a run trains and checkpoints, as one object: the two networks (and the averaged generator), their
optimizers, the random state, the grid's fixed noise, the counters of where training is, and the compiled
training step. save() and restore() are the checkpoint; a resumed run is this object restored."""

import errno

import keras
import numpy as np
import tensorflow as tf

import models
from data import pipeline
from record import columns
from training import augment, checkpoint, gan


# With several replicas the generator's gradient norm costs an all-reduce of its whole gradient (2.3 million
# numbers for the tutorial's generator): measured on every 16th step of an epoch only. On one device it is free.
GRADIENT_NORM_EVERY = 16


# The times of an epoch stopped mid-way, kept in its checkpoint (NaN: not measured, as an epoch that does not cluster).
SPENT = ("seconds", "train_seconds", "cluster_seconds")


class TrainingState:
    """Built from the config, inside `strategy`'s scope so every variable is mirrored on each replica;
    `class_names` make the models conditional. With model.clusters the state also holds the cluster number of
    each of the `image_count` training images (clusters.py). The same seed builds the same initial state."""

    def __init__(self, cfg, strategy, class_names, checkpoint_dir, image_count=0):
        self.class_names = class_names
        with strategy.scope():
            keras.utils.set_random_seed(cfg["train.seed"])
            self.build_networks(cfg, strategy)
            self.build_counters(cfg, image_count)
            self.build_checkpoint(cfg, strategy, checkpoint_dir)
            # Made before a restore: it also builds Adam's slots, which the checkpoint then fills.
            self.build_step(cfg, strategy)
        self.last_checkpoint = None  # what the newest checkpoint holds, for the messages of a stop

    def build_networks(self, cfg, strategy):
        """The two networks, their optimizers, the averaged generator and what draws the grids (the sampler)."""
        if cfg["train.mixed_precision"] != "none":
            keras.mixed_precision.set_global_policy(cfg["train.mixed_precision"])  # layers built from here on
        # Batch normalisation over the whole batch, not each replica's part: N devices learn as one does.
        self.generator, self.discriminator = models.from_config(
            cfg, synchronized=strategy.num_replicas_in_sync > 1, class_names=self.class_names)

        def beta2(key):  # a variable (checkpointed with its optimizer) when train.beta2_final moves it
            return tf.Variable(cfg[key], trainable=False, dtype=tf.float32) if cfg["train.beta2_final"] else cfg[key]
        self.generator_optimizer = keras.optimizers.Adam(cfg["train.generator_lr"], cfg["train.generator_beta1"],
                                                         beta2("train.generator_beta2"))
        self.discriminator_optimizer = keras.optimizers.Adam(
            cfg["train.discriminator_lr"], cfg["train.discriminator_beta1"], beta2("train.discriminator_beta2"))
        self.adams = self.generator_optimizer, self.discriminator_optimizer  # before any loss scaling wraps them
        # R1 and R2's gamma as a share of train.r1_weight and train.r2_weight (train.penalty_decay lowers it)
        self.penalty_share = tf.Variable(1.0, trainable=False)
        if cfg["train.mixed_precision"] == "mixed_float16":  # float16 gradients underflow without loss scaling
            self.generator_optimizer = keras.optimizers.LossScaleOptimizer(self.generator_optimizer)
            self.discriminator_optimizer = keras.optimizers.LossScaleOptimizer(self.discriminator_optimizer)
        # FastGAN's self-supervision: a decoder that redraws real images from D's features (train.reconstruction_weight)
        self.decoder = models.make_decoder(self.discriminator, synchronized=strategy.num_replicas_in_sync > 1) \
            if cfg["train.reconstruction_weight"] else None
        # The averaged generator draws the grids and is scored and saved: its weights move more smoothly.
        self.average_generator = None
        if cfg["train.ema_decay"]:
            self.average_generator = keras.models.clone_model(self.generator)
            self.average_generator.set_weights(self.generator.get_weights())
        self.sampler = self.average_generator or self.generator

    def build_counters(self, cfg, image_count):
        """The random state, the grid's fixed noise, where training is, and a self-conditioned run's clusters."""
        self.noise = tf.random.Generator.from_seed(cfg["train.seed"])
        # The same noise draws every epoch's grid, so the frames show the generator learning, not chance; a
        # conditional grid has one row per class, all rows with the same noise columns.
        grid_columns = cfg["output.grid_size"]
        self.fixed_noise = tf.Variable(self.noise.normal([grid_columns * (1 if self.class_names else grid_columns),
                                                          cfg["model.noise_dim"]]), trainable=False)
        self.epoch_counter = tf.Variable(0, dtype=tf.int64, trainable=False)  # the last finished epoch
        # Non-zero only in a checkpoint saved on Ctrl-C: how far the next epoch got, and its statistics so far.
        self.step_counter = tf.Variable(0, dtype=tf.int64, trainable=False)
        self.step_sums = tf.Variable(tf.zeros([len(columns.TRAINING_NAMES)]), trainable=False)
        # ... and the seconds it had taken (SPENT), so a resumed epoch's times are the whole epoch's.
        self.spent = tf.Variable(tf.zeros([len(SPENT)], tf.float64), trainable=False)
        # What each image's class is in a self-conditioned run: saved, so a resumed run trains on the same.
        self.cluster_numbers = tf.Variable(tf.zeros([image_count if cfg["model.clusters"] else 0], tf.int32),
                                           trainable=False)
        # ADA's probability of each augmentation, adapted after every step (train.augment_target; None: off)
        self.strength = augment.AdaptiveStrength(
            cfg["train.augment_target"], cfg["train.batch_size"] / (cfg["train.augment_kimg"] * 1000)) \
            if cfg["train.augment_target"] else None
        if cfg["model.clusters"]:
            # the features the images are clustered by: D's flattened features, the layer its logit reads
            flatten = next(layer for layer in self.discriminator.layers if isinstance(layer, keras.layers.Flatten))
            network = keras.Model(self.discriminator.inputs[0], flatten.output)

            @tf.function
            def feature_pass(pixels, mean=None, axes=None):  # (N, 8,192) at 32x32, or (N, axes) reduced
                features = tf.cast(network(pixels, training=False), tf.float32)  # 16 bits with mixed precision
                return features if axes is None else (features - mean) @ tf.transpose(axes)
            self.feature_pass = feature_pass

    def build_checkpoint(self, cfg, strategy, checkpoint_dir):
        """What a checkpoint holds, and its manager."""
        optional = {"average_generator": self.average_generator} if self.average_generator else {}
        if cfg["model.clusters"]:
            optional["clusters"] = self.cluster_numbers
        if self.strength:
            optional["augment_probability"] = self.strength.probability
        if self.decoder:
            optional["decoder"] = self.decoder
        self.parts = dict(
            generator=self.generator, discriminator=self.discriminator, **optional,
            generator_optimizer=self.generator_optimizer, discriminator_optimizer=self.discriminator_optimizer,
            noise=self.noise, fixed_noise=self.fixed_noise, epoch=self.epoch_counter, step=self.step_counter,
            step_sums=self.step_sums, spent=self.spent,
            # Keras leaves dropout's random state out of the model's checkpoint (and makes none at rate 0).
            dropout_seeds=[layer.seed_generator.state for layer in self.discriminator.layers
                           if getattr(layer, "seed_generator", None) is not None])
        self.checkpoint = tf.train.Checkpoint(**self.parts)
        # Numbered by training step (ckpt-120), as TensorFlow does, so a mid-epoch checkpoint fits in.
        self.manager = tf.train.CheckpointManager(self.checkpoint, checkpoint_dir,
                                                  max_to_keep=cfg["output.checkpoints_to_keep"])
        # On one device TensorFlow writes checkpoints in its own thread: save() copies the values (~2 ms) and
        # the manager's index moves to the new files once they are complete. Several replicas: in place.
        one_device = strategy.num_replicas_in_sync == 1 and cfg["train.distribute"] != "multi_worker"
        if one_device and not checkpoint.async_checkpoint_patched():
            print(f"note: TensorFlow {tf.__version__} with Keras {keras.__version__} is outside the tested range "
                  f"for asynchronous checkpoints (requirements.txt): each checkpoint is written before training "
                  f"goes on", flush=True)
        self.save_options = tf.train.CheckpointOptions(
            experimental_enable_async_checkpoint=one_device and checkpoint.async_checkpoint_patched())

    def build_step(self, cfg, strategy):
        """The compiled training step, the loop of steps one call runs, and the grid's compiled drawing."""
        self.train_step = gan.make_train_step(
            self.generator, self.discriminator, self.generator_optimizer, self.discriminator_optimizer,
            real_label=1.0 - cfg["train.label_smoothing"],
            augment=augment.make_augment(cfg["train.augment"], self.noise, self.strength), strength=self.strength,
            average_generator=self.average_generator, average_decay=cfg["train.ema_decay"],
            r1_weight=cfg["train.r1_weight"], r2_weight=cfg["train.r2_weight"], penalty_share=self.penalty_share,
            relativistic=cfg["train.loss"] == "relativistic", decoder=self.decoder,
            reconstruction_weight=cfg["train.reconstruction_weight"], jit_compile=cfg["train.jit_compile"],
            strategy=strategy, num_classes=len(self.class_names))
        self.draw = tf.function(self.draw_and_check)  # compiled: an eager Keras call costs ~20 ms more
        self.gradient_norm_every = 1 if strategy.num_replicas_in_sync == 1 else GRADIENT_NORM_EVERY
        self.train_steps = gan.make_train_loop(self.train_step, self.step_sums, columns.TRAINING_NAMES,
                                               cfg["train.discriminator_steps"], self.gradient_norm_every)

    @property
    def epoch(self):
        return int(self.epoch_counter.numpy())

    @property
    def step(self):
        return int(self.step_counter.numpy())

    def save(self, wait=True):
        """A checkpoint of the state as it is now. Unless `wait`, it may still be being written on return; the
        next save raises if that write failed."""
        try:
            path = self.manager.save(checkpoint_number=self.discriminator_optimizer.iterations,
                                     options=self.save_options)
            if wait:
                self.checkpoint.sync()
                if self.manager.latest_checkpoint != path:  # the write failed: its index did not move
                    raise tf.errors.UnknownError(None, None, f"{path} was not written")
        except tf.errors.OpError as e:  # TensorFlow reports a full disk as its own error, not as an OSError
            raise OSError(errno.EIO, f"checkpoint not saved ({e.message.split(';')[-1].strip()})",
                          str(self.manager.directory)) from None
        self.last_checkpoint = checkpoint.describe_checkpoint(self.epoch, self.step)

    def restore(self, prefixes, cfg):
        """The newest of `prefixes`, then the learning rates of `cfg`: a resume may change them."""
        saved = {name.split("/")[0] for name, _ in tf.train.list_variables(prefixes[-1])}
        # A checkpoint from before epoch times were saved restores without them (its epoch's time restarts).
        restoring = self.checkpoint if "spent" in saved else tf.train.Checkpoint(
            **{name: part for name, part in self.parts.items() if name != "spent"})
        try:
            restoring.restore(prefixes[-1]).assert_existing_objects_matched()
        except (tf.errors.OpError, ValueError, AssertionError) as e:
            raise checkpoint.damaged_checkpoint(prefixes, e) from None
        self.last_checkpoint = checkpoint.describe_checkpoint(self.epoch, self.step)
        self.set_schedules(cfg, self.epoch + 1)

    def set_schedules(self, cfg, epoch):
        """The learning rates, penalty weights and Adam's beta_2 for `epoch`, each on a straight line from its value
        at the first epoch to its value at the last (a resume may change the settings, and a resumed epoch gets its
        own values again)."""
        progress = (epoch - 1) / max(1, cfg["train.epochs"] - 1)  # 0 at the first epoch, 1 at the last
        # lr(e) = lr * (1 - lr_decay * progress)
        factor = 1 - cfg["train.lr_decay"] * progress
        self.generator_optimizer.learning_rate.assign(cfg["train.generator_lr"] * factor)
        self.discriminator_optimizer.learning_rate.assign(cfg["train.discriminator_lr"] * factor)
        # gamma(e) = gamma * (1 - penalty_decay * progress)
        self.penalty_share.assign(1 - cfg["train.penalty_decay"] * progress)
        if cfg["train.beta2_final"]:
            # beta_2(e) = beta_2 + (beta2_final - beta_2) * progress
            for adam, key in zip(self.adams, ("train.generator_beta2", "train.discriminator_beta2")):
                adam.beta_2.assign(cfg[key] + (cfg["train.beta2_final"] - cfg[key]) * progress)

    def grid_inputs(self, shown_classes):
        """What the generator draws each epoch's grid from: the fixed noise, and for a conditional run the
        classes of its rows (`shown_classes`), each row under the same noise columns."""
        if not self.class_names:
            return self.fixed_noise
        grid_columns = self.fixed_noise.shape[0]
        return [tf.tile(self.fixed_noise, [len(shown_classes), 1]),
                tf.repeat(tf.one_hot(shown_classes, len(self.class_names)), grid_columns, axis=0)]

    def draw_and_check(self, grid_inputs):
        """The sampler's images for `grid_inputs`, and whether they, the trained generator's (when an average
        draws) and the discriminator's verdict on them are all finite: weights can blow up in an epoch's
        last step while that step's loss was still finite."""
        samples = self.sampler(grid_inputs, training=False)
        raw = samples if self.sampler is self.generator else self.generator(grid_inputs, training=False)
        verdict = self.discriminator([samples, grid_inputs[1]] if self.class_names else samples, training=False)
        return samples, tf.reduce_all([tf.reduce_all(tf.math.is_finite(x)) for x in (samples, raw, verdict)])

    def cluster_shares(self):
        """Each cluster's share of the training images (None: not a self-conditioned run)."""
        if not self.cluster_numbers.shape[0]:
            return None
        return np.bincount(self.cluster_numbers.numpy(), minlength=len(self.class_names)) / self.cluster_numbers.shape[0]

    def features_of(self, images, batch=500):
        """features_of(numbers, reduction=None) for clusters.cluster: the discriminator's features of
        `images`[numbers], the layer its logit (and a projection's class embedding) is computed from; with
        `reduction` (mean, axes), reduced to those axes where the discriminator runs, so that only they leave it."""
        def features(numbers, reduction=None):
            constants = [tf.constant(x, tf.float32) for x in reduction or ()]
            found = None
            for first in range(0, len(numbers), batch):  # into one array: a list of parts, joined, would hold two
                part = self.feature_pass(pipeline.scale(images[numbers[first:first + batch]]), *constants).numpy()
                found = np.empty((len(numbers), part.shape[1]), np.float32) if found is None else found
                found[first:first + len(part)] = part
            return found
        return features

    def end_epoch(self, number):
        """The epoch is over: the next one starts at its first step with its statistics at zero."""
        self.epoch_counter.assign(number)
        self.step_counter.assign(0)
        self.step_sums.assign(tf.zeros_like(self.step_sums))
        self.spent.assign(tf.zeros_like(self.spent))
