import keras
import numpy as np
import pytest

from settings import config
import models


def test_default_models_match_the_tutorial_parameter_counts():
    generator, discriminator = models.from_config(config.load())
    assert generator.count_params() == 2_330_944
    assert discriminator.count_params() == 212_865


def test_shapes_noise_to_image_to_logit():
    generator, discriminator = models.make_generator(), models.make_discriminator()
    images = generator(np.random.normal(size=(3, 100)).astype("float32"), training=False)
    assert images.shape == (3, 28, 28, 1)
    assert np.all(np.abs(images) <= 1.0)  # tanh
    assert discriminator(images, training=False).shape == (3, 1)


def test_widths_and_noise_size_come_from_the_config():
    cfg = config.load(overrides=["model.noise_dim=16", "model.generator_widths=[32, 16, 8]",
                                 "model.discriminator_widths=[8, 16, 32]", "model.kernel_size=3"])
    generator, discriminator = models.from_config(cfg)
    assert generator.input_shape == (None, 16)
    assert generator.output_shape == (None, 28, 28, 1)
    assert len([layer for layer in discriminator.layers if "conv2d" in layer.name]) == 3
    assert generator.count_params() < 2_330_944


def test_a_64x64_colour_configuration_builds_one_more_stage_each_side():
    cfg = config.load(overrides=["data.dataset=cifar10", "data.image_size=64"])
    generator, discriminator = models.from_config(cfg)
    assert generator.output_shape == (None, 64, 64, 3) and discriminator.input_shape == (None, 64, 64, 3)
    # 8x8 start, then 8 -> 16 -> 32 -> 64: widths [256, 128, 64] gain a halved 32; D [64, 128] a doubled 256.
    assert [layer.filters for layer in generator.layers if "transpose" in layer.name] == [128, 64, 32, 3]
    assert [layer.filters for layer in discriminator.layers if "conv2d" in layer.name] == [64, 128, 256]
    assert discriminator(generator(np.zeros((2, 100), "float32"))).shape == (2, 1)


def test_32x32_starts_at_8x8():
    generator, _ = models.from_config(config.load(overrides=["data.dataset=cifar10"]))
    assert generator.get_layer(index=3).output.shape == (None, 8, 8, 256)  # after the Reshape
    assert generator.output_shape == (None, 32, 32, 3)


def test_the_minibatch_spread_lets_the_discriminator_tell_a_varied_batch_from_a_collapsed_one():
    images = np.random.default_rng(0).uniform(-1, 1, (4, 28, 28, 1)).astype("float32")
    collapsed = np.repeat(images[:1], 4, axis=0)
    spread = models.MinibatchStddev()
    assert np.all(np.asarray(spread(collapsed))[..., -1] < 1e-3)
    assert np.all(np.asarray(spread(images))[..., -1] > 0.1)
    with_spread = models.make_discriminator(dropout=0.0, minibatch_std=True)
    assert with_spread.count_params() == 212_865 + 7 * 7  # one more feature map for the logit to read
    # The first image's logit depends on its batch-mates with the spread, and not without it.
    assert not np.isclose(with_spread(images)[0, 0], with_spread(collapsed)[0, 0])
    without = models.make_discriminator(dropout=0.0)
    np.testing.assert_allclose(without(images)[0, 0], without(collapsed)[0, 0], rtol=1e-5)


def test_spectral_normalisation_keeps_each_convolutions_largest_singular_value_at_one():
    discriminator = models.make_discriminator(dropout=0.0, spectral_norm=True)
    images = np.random.default_rng(0).uniform(-1, 1, (4, 28, 28, 1)).astype("float32")
    kernels = [layer.layer.kernel for layer in discriminator.layers if isinstance(layer, keras.layers.SpectralNormalization)]
    assert len(kernels) == 2
    for kernel in kernels:
        kernel.assign(kernel * 5.0)  # as a large update would leave it
    for _ in range(30):  # each training call runs one power iteration and divides the kernel by its estimate
        discriminator(images, training=True)
    for kernel in kernels:
        matrix = np.reshape(kernel.numpy(), (-1, kernel.shape[-1]))
        assert abs(np.linalg.svd(matrix, compute_uv=False)[0] - 1.0) < 0.05


@pytest.mark.parametrize("size, channels, start, redrawn", [(28, 1, 7, 14), (32, 3, 8, 16), (64, 3, 8, 32)])
def test_the_decoder_redraws_the_discriminators_last_features_as_the_image_at_half_size(size, channels, start, redrawn):
    discriminator = models.make_discriminator((8, 16), image_size=size, channels=channels)
    features = models.feature_map(discriminator)(np.zeros((2, size, size, channels), np.float32))
    assert features.shape[:3] == (2, start, start)  # the map the logit's Flatten reads
    assert models.make_decoder(discriminator, width=8)(features).shape == (2, redrawn, redrawn, channels)


def test_skip_layer_excitation_gates_the_last_feature_map_by_the_first(tmp_path):
    generator = models.make_generator(widths=(16, 8, 8), image_size=64, channels=3, skip_excitation=True)
    noise = np.random.default_rng(0).normal(size=(2, 100)).astype(np.float32)
    assert generator(noise).shape == (2, 64, 64, 3)
    gate = next(layer for layer in generator.layers if getattr(layer, "activation", None) is keras.activations.sigmoid)
    kernel, bias = gate.get_weights()
    gate.set_weights([kernel, np.full_like(bias, -50.0)])  # every gate closed: nothing reaches the image layer
    np.testing.assert_allclose(generator(noise, training=False), 0.0, atol=1e-12)  # sigmoid(-50) ~ 2e-22
    gate.set_weights([kernel, bias])
    generator.save(tmp_path / "g.keras")  # built-in layers only: generate.py loads it as any generator
    np.testing.assert_allclose(keras.models.load_model(tmp_path / "g.keras")(noise), generator(noise), atol=1e-6)
