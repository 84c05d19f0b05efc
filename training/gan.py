"""The GAN's maths, as in the tutorial: its two losses and one training step for both networks."""

import keras
import tensorflow as tf

import models


# Per image, not averaged: a step split over several devices divides by the whole batch's size itself.
cross_entropy = keras.losses.BinaryCrossentropy(from_logits=True, reduction=None)


def mean(per_image, batch_size=None):
    """The mean over the whole batch: with several replicas each holds part of the batch and divides its sum
    by the whole batch's size, so the replicas' shares (and their gradients) add up to the mean's."""
    if batch_size is None:
        return tf.reduce_mean(per_image)
    return tf.reduce_sum(per_image) / batch_size


def discriminator_loss(real_logits, fake_logits, real_label=1.0, batch_size=None):
    # D: maximise log D(x) + log(1 - D(G(z)))  <=>  minimise BCE(1, D(x)) + BCE(0, D(G(z)));
    # real_label < 1 is one-sided label smoothing: aiming D(x) a little below 1 keeps D from growing overconfident.
    return (mean(cross_entropy(tf.fill(tf.shape(real_logits), real_label), real_logits), batch_size)
            + mean(cross_entropy(tf.zeros_like(fake_logits), fake_logits), batch_size))


def generator_loss(fake_logits, batch_size=None):
    # G: maximise log D(G(z)) (the non-saturating loss)  <=>  minimise BCE(1, D(G(z)))
    return mean(cross_entropy(tf.ones_like(fake_logits), fake_logits), batch_size)


def relativistic_discriminator_loss(real_logits, fake_logits, real_label=1.0, batch_size=None):
    # RpGAN (Huang et al. 2024), real image i paired with generated image i: D: minimise
    # BCE(1, D(x) - D(G(z))) = softplus(D(G(z)) - D(x)); D is asked only to rank each real image above its pair.
    return mean(cross_entropy(tf.fill(tf.shape(real_logits), real_label), real_logits - fake_logits), batch_size)


def relativistic_generator_loss(real_logits, fake_logits, batch_size=None):
    # G: minimise BCE(1, D(G(z)) - D(x)) = softplus(D(x) - D(G(z))): rank its image above the real one.
    return mean(cross_entropy(tf.ones_like(fake_logits), fake_logits - real_logits), batch_size)


def logits_and_slopes(discriminator, images, scale_loss=lambda logits: logits, classes=None):
    """D's logits for `images` (of `classes`, one-hot, for a conditional D), and each image's squared slope
    ||d logit / d image||^2 (the R1 and R2 penalties' term).

    Called while the step's tapes record, so the slope's own gradient (a second derivative) reaches D's
    weights. The gradient of all the logits at once is each image's own slope, because one image's logit
    does not depend on the others (the discriminator has no batch normalisation; with model.minibatch_std it
    does, a little, through the batch's spread, and the slope takes that share in, as StyleGAN's does).
    `scale_loss` is the optimizer's loss scaling: under mixed_float16 the slope travels back through float16
    layers too, so it is scaled up on the way (small slopes would round to zero) and back down in float32; if
    it overflows, the penalty is not finite and the LossScaleOptimizer skips the step and lowers its scale, as
    for the losses.
    """
    with tf.GradientTape(watch_accessed_variables=False) as input_tape:
        input_tape.watch(images)
        logits = discriminator(images if classes is None else [images, classes], training=True)
        scaled_logits = scale_loss(logits)
    scale = tf.cast(scale_loss(tf.constant(1.0)), tf.float32)
    # float32: squares of float16 overflow
    slopes = tf.cast(input_tape.gradient(scaled_logits, images), tf.float32) / scale
    return logits, tf.reduce_sum(tf.square(slopes), axis=[1, 2, 3])


def make_train_step(generator, discriminator, generator_optimizer, discriminator_optimizer, real_label=1.0,
                    augment=None, strength=None, average_generator=None, average_decay=0.999, r1_weight=0.0,
                    r2_weight=0.0, penalty_share=1.0, relativistic=False, decoder=None, reconstruction_weight=0.0,
                    jit_compile=False, num_classes=0, strategy=None):
    """A compiled step that trains on one batch (real images, the generator's noise) and reports the
    balance of the two networks, as means over the batch. With `num_classes` (a conditional GAN) the batch
    is (real images, their labels, noise), and the generator draws each real image's class: both halves
    of the discriminator's batch then hold the same mix of classes, so the class alone tells it nothing.

    Like the tutorial, both updates come from the same forward pass. `update_generator=False` makes a
    discriminator-only step (for train.discriminator_steps > 1); the generator's gradient is still
    measured. Its norm needs the whole batch's gradient, the replicas' sum: with several replicas that is
    an all-reduce of G's gradient besides the optimizer's own, so `measure_gradient=False` skips it (and
    reports 0) on the steps where the caller does not want it. The noise comes with the batch (data/pipeline.py
    draws it), so one device and several see the same numbers. `strategy` (tf.distribute) runs the step on
    each replica's part of the batch; Keras' optimizers sum the replicas' gradients.
    `augment` (augment.py, drawing from the run's checkpointed tf.random.Generator) transforms
    every batch the discriminator sees, and `strength` (augment.AdaptiveStrength, ADA), if given, adapts how
    often after each step from its share of real images called real (of pairs ranked real-first, relativistic);
    `average_generator`, if given, follows the generator's weights as an exponential moving average after each
    of its updates. `r1_weight` (gamma) adds the R1 penalty
    to what the discriminator minimises, `r2_weight` the same penalty at generated images (R2), both times
    `penalty_share` (a variable the run lowers epoch by epoch with train.penalty_decay); the reported
    disc_loss stays the adversarial loss alone, so it reads the same with and without them. `relativistic`
    replaces the tutorial's two losses with RpGAN's pairwise ones (Huang et al. 2024); the balance is then
    reported on the pairs' verdicts, D(x) as sigmoid(D(x) - D(G(z))) and D(G(z)) as its complement, since a
    relativistic D's own logits drift freely. `decoder` (models.make_decoder), with `reconstruction_weight`,
    makes D's features of each real image redraw it at half size (FastGAN's self-supervision), trained with D by D's
    optimizer; it costs a second pass of D's convolutions over the real images. `jit_compile` compiles the step with
    XLA. Under mixed_float16 the optimizers are LossScaleOptimizers: scale_loss multiplies each loss
    before backpropagation (so small float16 gradients do not round to zero) and apply_gradients divides
    the gradients back; for any other optimizer both are no-ops.
    """
    strategy = strategy or tf.distribute.get_strategy()
    # Adam makes its slots lazily; made now, not in a later trace (update_generator=True after False).
    # D's optimizer trains the decoder with D: what D minimises includes the redrawing.
    discriminator_variables = discriminator.trainable_variables + (decoder.trainable_variables if decoder else [])
    generator_optimizer.build(generator.trainable_variables)
    discriminator_optimizer.build(discriminator_variables)
    augment = augment or (lambda images: images)
    features_of = models.feature_map(discriminator) if decoder else None
    averaged_pairs = list(zip(average_generator.weights, generator.weights)) if average_generator else []

    @tf.function(jit_compile=jit_compile)
    def replica_step(real_images, labels, z, update_generator, measure_gradient):
        replicas = tf.distribute.get_replica_context()
        batch_size = replicas.all_reduce("sum", tf.cast(tf.shape(real_images)[0], tf.float32))
        classes = tf.one_hot(labels, num_classes) if num_classes else None  # (batch, num_classes)

        def conditioned(images):
            return images if classes is None else [images, classes]

        def scored(images, penalised):
            """D's logits for `images`, and their squared input slopes if a penalty needs them."""
            if penalised:
                return logits_and_slopes(discriminator, images, discriminator_optimizer.scale_loss, classes)
            return discriminator(conditioned(images), training=True), None
        with tf.GradientTape() as generator_tape, tf.GradientTape() as discriminator_tape:
            # 1. The generator draws one image per real image (the last batch of an epoch is smaller).
            fake_images = generator(conditioned(z), training=True)
            # 2. The discriminator scores the real and the generated images (augmented, if train.augment).
            seen_real, seen_fake = augment(real_images), augment(fake_images)
            real_logits, real_slopes = scored(seen_real, r1_weight)
            fake_logits, fake_slopes = scored(seen_fake, r2_weight)
            # 3. Its loss: how far it is from calling real images real and generated ones fake.
            if relativistic:
                disc_loss = relativistic_discriminator_loss(real_logits, fake_logits, real_label, batch_size)
            else:
                disc_loss = discriminator_loss(real_logits, fake_logits, real_label, batch_size)
            minimised_disc_loss = disc_loss
            if r1_weight:
                # R1 (Mescheder et al. 2018): D also minimises gamma/2 * E ||grad_x D(x)||^2 over real x; a verdict
                # kept flat at the real images stops D from overshooting around them, so the two settle together.
                minimised_disc_loss += r1_weight * penalty_share / 2 * mean(real_slopes, batch_size)
            if r2_weight:
                # R2: gamma/2 * E ||grad_x D(x)||^2 over generated x, flat at G's images too (R3GAN uses both).
                minimised_disc_loss += r2_weight * penalty_share / 2 * mean(fake_slopes, batch_size)
            if decoder:
                with generator_tape.stop_recording():  # D's business only: G's tape need not keep this pass
                    # FastGAN: D also minimises weight * E |decoder(features(x)) - x at half size| over real x.
                    redrawn = decoder(features_of(conditioned(seen_real), training=True), training=True)
                    halved = tf.nn.avg_pool2d(seen_real, 2, 2, "VALID")  # (32, 32, 3): each 2x2 block's mean
                    minimised_disc_loss += reconstruction_weight * mean(
                        tf.reduce_mean(tf.abs(redrawn - tf.cast(halved, redrawn.dtype)), axis=[1, 2, 3]), batch_size)
            # 4. The generator's loss: how often the discriminator saw through its images.
            if relativistic:
                gen_loss = relativistic_generator_loss(real_logits, fake_logits, batch_size)
            else:
                gen_loss = generator_loss(fake_logits, batch_size)
            # Scaled while the tapes still record (a no-op unless loss scaling is on).
            scaled_gen_loss = generator_optimizer.scale_loss(gen_loss)
            scaled_disc_loss = discriminator_optimizer.scale_loss(minimised_disc_loss)
        # Backpropagate each loss into its own network only, and take one Adam step for each.
        generator_gradients = generator_tape.gradient(scaled_gen_loss, generator.trainable_variables)
        discriminator_gradients = discriminator_tape.gradient(scaled_disc_loss, discriminator_variables)
        if update_generator:
            generator_optimizer.apply_gradients(zip(generator_gradients, generator.trainable_variables))
        discriminator_optimizer.apply_gradients(zip(discriminator_gradients, discriminator_variables))
        gradient_norm = tf.constant(0.0)
        if measure_gradient:
            whole_gradient = replicas.all_reduce("sum", generator_gradients)  # what the optimizer applied
            # every replica holds the same norm; dividing shares it out so train_step's sum restores it
            gradient_norm = (tf.linalg.global_norm(whole_gradient) / generator_optimizer.scale_loss(1.0)
                             / replicas.num_replicas_in_sync)
        if relativistic:  # D judges pairs: its verdicts are the pairs' differences (fake_accuracy = real_accuracy)
            real_logits, fake_logits = real_logits - fake_logits, fake_logits - real_logits
        return {"gen_loss": gen_loss, "disc_loss": disc_loss,
                "d_real": mean(tf.sigmoid(real_logits), batch_size),   # mean D(x): 1 = sure it is real
                "d_fake": mean(tf.sigmoid(fake_logits), batch_size),   # mean D(G(z)): 0 = sure it is fake
                "real_accuracy": mean(tf.cast(real_logits > 0, tf.float32), batch_size),
                "fake_accuracy": mean(tf.cast(fake_logits < 0, tf.float32), batch_size),
                "gen_grad_norm": gradient_norm}

    @tf.function
    def train_step(batch, update_generator=True, measure_gradient=True):
        real_images, *labels, z = batch  # labels: [] or [the real images' classes]
        shares = strategy.run(replica_step, args=(real_images, labels[0] if labels else None, z, update_generator,
                                                  measure_gradient))
        statistics = {key: strategy.reduce("SUM", value, axis=None) for key, value in shares.items()}
        if strength is not None:
            strength.adjust(statistics["real_accuracy"])
        if averaged_pairs and update_generator:
            # Early on the average would mostly hold the random initial weights: like TensorFlow's
            # ExponentialMovingAverage(num_updates), the decay starts low and rises to average_decay.
            updates = tf.cast(generator_optimizer.iterations, tf.float32)
            decay = tf.minimum(average_decay, (1.0 + updates) / (10.0 + updates))
            for average, weight in averaged_pairs:
                # Polyak average: w_avg <- decay * w_avg + (1 - decay) * w; smooths G's oscillation around D.
                average.assign(decay * average + (1.0 - decay) * weight)
        return statistics

    return train_step


def make_train_loop(train_step, step_sums, names, discriminator_steps=1, gradient_norm_every=1):
    """train_steps(iterator, first_step, count, batch_size): `count` steps from a (distributed) iterator,
    numbered from `first_step` within the epoch, each step's statistics (those named in `names`, in their order)
    added to the variable `step_sums`;    batch_size(n) is step n's batch size, or None if it is not known (several replicas).

    One call into TensorFlow per step would pay Python's dispatch, an eager op for the statistics and the
    iterator's round trip every step: a large share of a step a GPU finishes in milliseconds. Here a compiled
    loop takes a run of steps in one call. Step n updates the generator if (n + 1) % discriminator_steps == 0
    and measures its gradient's norm if n % gradient_norm_every == 0; these choices are fixed within a call
    (with several replicas the graph cannot branch around their collective operations), and so is the batch
    size: a batch taken from the iterator inside the graph has no static size, and given one, TensorFlow
    chooses the kernels it chooses for a batch passed in. A run of steps ends where these change: with the
    defaults only at an epoch's last, smaller batch.
    """
    def one_step(iterator, update_generator, measure_gradient, batch_size):
        batch = next(iterator)
        if batch_size:
            batch = tuple(tf.ensure_shape(part, [batch_size, *part.shape[1:]]) for part in batch)
        statistics = train_step(batch, update_generator, measure_gradient)
        step_sums.assign_add(tf.stack([statistics[key] for key in names]))  # summed on the device

    @tf.function
    def compiled_steps(iterator, count, *choices):
        for _ in tf.range(count):
            one_step(iterator, *choices)

    # A run of one step is compiled without the loop, whose body TensorFlow may optimise a little differently:
    # one step per call (train.steps_per_call=1) then gives exactly the numbers of a step called per batch.
    compiled_step = tf.function(one_step)

    def train_steps(iterator, first_step, count, batch_size=lambda step: None):
        def choices(step):
            return (step + 1) % discriminator_steps == 0, step % gradient_norm_every == 0, batch_size(step)
        step, end = first_step, first_step + count
        while step < end:
            run = 1
            while step + run < end and choices(step + run) == choices(step):
                run += 1
            if run == 1:
                compiled_step(iterator, *choices(step))
            else:
                compiled_steps(iterator, tf.constant(run), *choices(step))  # a tensor count: traced once
            step += run

    return train_steps
