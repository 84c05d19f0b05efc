"""Stopping a run cleanly: the first Ctrl-C or SIGTERM asks the training loop to stop after the steps under way
(with a checkpoint), a second one stops at once; a loss that is no longer finite stops it too. train.py turns
each into its exit message and code."""

import itertools
import os
import signal
import sys
import threading


class TrainingDiverged(Exception):
    """A loss became NaN or infinite: training stops, the last good checkpoint stays as it was."""


class Stopped(Exception):
    """Ctrl-C or SIGTERM: the step under way finished; `checkpoint` says what the newest checkpoint holds
    (None: there is none yet)."""

    def __init__(self, signal_number, checkpoint):
        super().__init__(signal_number)
        self.signal_number, self.checkpoint = signal_number, checkpoint


class Interrupted(KeyboardInterrupt):
    """A second Ctrl-C or SIGTERM: stop at once, with the exit code of the signal."""

    def __init__(self, signal_number):
        super().__init__(signal_number)
        self.signal_number = signal_number


class StopRequests:
    """Within `with`, the first Ctrl-C or SIGTERM asks to stop after the current step (or, during start-up,
    before the first); a second one stops at once, as usual, for a user who cannot wait.

    Python runs a signal's handler only between TensorFlow's calls, which can take seconds; the interpreter
    also writes each signal's number into a pipe the moment it arrives (signal.set_wakeup_fd), where a thread
    reads it and says at once that the stop is under way."""

    signal_number = None

    def __enter__(self):
        self.previous = {number: signal.signal(number, self.request) for number in (signal.SIGINT, signal.SIGTERM)}
        self.pipe = os.pipe()
        os.set_blocking(self.pipe[1], False)
        self.previous_wakeup = signal.set_wakeup_fd(self.pipe[1])
        self.announcer = threading.Thread(target=self.announce, name="stop-requests", daemon=True)
        self.announcer.start()
        return self

    def __exit__(self, *exc_info):
        signal.set_wakeup_fd(self.previous_wakeup)
        os.close(self.pipe[1])
        self.announcer.join()  # it reads to the end of the pipe, announcing a signal not yet announced, and stops
        for number, handler in self.previous.items():
            signal.signal(number, handler)

    def announce(self):
        with open(self.pipe[0], "rb", buffering=0) as arrivals:
            numbers = (number for chunk in iter(lambda: arrivals.read(16), b"") for number in chunk
                       if number in self.previous)
            for number in itertools.islice(numbers, 1):
                print(f"\n{signal.Signals(number).name}: stopping after the steps under way, with a checkpoint if "
                      f"training has begun (again to stop at once)", file=sys.stderr, flush=True)
            for _ in numbers:  # read on, so the pipe never fills
                pass

    def request(self, number, frame):
        if self.signal_number is not None:
            raise Interrupted(number)
        self.signal_number = number
