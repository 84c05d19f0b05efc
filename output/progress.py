"""A progress line for long work: redrawn in place in a terminal, a plain line every 10 s in a log file."""

import sys
import time


class Progress:
    """One line that says how far a long job is: done, per second, time left. Rewritten in place on a
    terminal; elsewhere (a log) printed every 10 seconds."""

    def __init__(self, title, total):
        self.title, self.total, self.started, self.shown = title, total, time.perf_counter(), 0.0
        self.terminal = sys.stdout.isatty()

    def line(self, done):
        elapsed = time.perf_counter() - self.started
        rate = done / elapsed if elapsed else 0.0
        left = (self.total - done) / rate if rate else 0.0
        return f"{self.title}: {done:,}/{self.total:,}, {rate:,.0f} images/s, {left:.0f} s left"

    def show(self, done):
        now = time.perf_counter()
        if now - self.shown >= (0.2 if self.terminal else 10.0):
            self.shown = now
            print(f"\r{self.line(done)}" if self.terminal else self.line(done), end="" if self.terminal else "\n",
                  flush=True)

    def end(self):
        elapsed = time.perf_counter() - self.started
        print(f"{chr(13) if self.terminal else ''}{self.title}: {self.total:,} in {elapsed:.1f} s "
              f"({self.total / max(elapsed, 1e-9):,.0f} images/s)", flush=True)
