"""TensorFlow's start-up lines, and one harmless error line of its graph optimizer, kept off the terminal.

TensorFlow 2.21 writes a few lines to the standard error while it loads and finds its devices ("All log
messages before absl::InitializeLog() ...", "oneDNN custom operations are on ...", "Could not find cuda
drivers ..."), before it reads TF_CPP_MIN_LOG_LEVEL. They look like failures to a newcomer and say nothing
to act on. While TensorFlow starts, file descriptor 2 points at a pipe, and a thread passes on every line
that is not in TensorFlow's log format: a real error, a Python traceback, still shows.
"""

import contextlib
import os
import re
import sys
import threading


# glog's prefix (I1130 08:21:00.123456  4242 file.cc:31] ...; TensorFlow 2.21 writes I0000 00:00:<epoch seconds>),
# and absl's lines before its log is set up
TENSORFLOW_LINE = re.compile(rb"[IWEF]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ [\w.]+:\d+\] "
                             rb"|WARNING: All log messages before absl::InitializeLog\(\) is called"
                             rb"|To enable the following instructions: ")


# Grappler's remapper, which fuses a convolution with its bias and activation, fails on the training loop's
# graph on some CPUs (seen on Intel Xeons with AVX-512 FP16: "remapper failed: INVALID_ARGUMENT: Mutation::Apply
# error: fanout '...LeakyReluGrad' exist for missing node '.../BiasAdd'"). Grappler then keeps that graph
# unfused and runs it correctly (the steps' numbers are the same); the line is an error in form only.
REMAPPER_FAILED = re.compile(rb"E\d{4} \d\d:\d\d:\d+\.\d+ +\d+ meta_optimizer\.cc:\d+\] remapper failed: ")


def start_up_lines_hidden():
    """Within `with`, lines written to the standard error in TensorFlow's log format are dropped."""
    return lines_hidden(TENSORFLOW_LINE)


def harmless_errors_hidden():
    """Within `with`, TensorFlow's one known harmless error line (REMAPPER_FAILED) is dropped, whatever
    TF_CPP_MIN_LOG_LEVEL says; everything else written to the standard error shows."""
    return lines_hidden(REMAPPER_FAILED)


@contextlib.contextmanager
def lines_hidden(pattern):
    """Within `with`, lines written to the standard error (by Python or TensorFlow's C++) that match `pattern`
    are dropped."""
    sys.stderr.flush()
    terminal = os.dup(2)
    reader, writer = os.pipe()
    os.dup2(writer, 2)
    os.close(writer)
    forwarding = threading.Thread(target=pass_on, args=(reader, terminal, pattern), name="tensorflow-log",
                                  daemon=True)
    forwarding.start()
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(terminal, 2)  # closes the pipe's last writer: the thread reads to its end and stops
        forwarding.join()
        os.close(terminal)


def pass_on(reader, terminal, pattern):
    with open(reader, "rb") as pipe:
        for line in pipe:
            if not pattern.match(line):
                os.write(terminal, line)
