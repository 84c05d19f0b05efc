"""TensorFlow's log lines: its start-up chatter and one harmless optimizer error hidden, everything else shown."""

import os

from training import tflog

REMAPPER = (b"E0000 00:00:1764000000.123456   4242 meta_optimizer.cc:967] remapper failed: INVALID_ARGUMENT: "
            b"Mutation::Apply error: fanout 'while/body/_1/gradient_tape/LeakyReluGrad' exist for missing node "
            b"'while/body/_1/discriminator_1/conv2d_1/BiasAdd'.\n")
OTHER_ERROR = b"E0000 00:00:1764000000.223456   4242 some_kernel.cc:12] a real failure\n"


def test_only_the_remappers_harmless_line_is_hidden_during_a_run(capfd):
    with tflog.harmless_errors_hidden():
        os.write(2, REMAPPER)  # as TensorFlow's C++ writes it: straight to file descriptor 2
        os.write(2, OTHER_ERROR)
        os.write(2, b"Traceback (most recent call last):\n")
    assert capfd.readouterr().err == (OTHER_ERROR + b"Traceback (most recent call last):\n").decode()


def test_start_up_lines_in_tensorflows_format_are_hidden_and_the_rest_shown(capfd):
    with tflog.start_up_lines_hidden():
        os.write(2, b"I0000 00:00:1764000000.1   4242 cudart_stub.cc:31] Could not find cuda drivers\n")
        os.write(2, b"ImportError: a real one\n")
    assert capfd.readouterr().err == "ImportError: a real one\n"
