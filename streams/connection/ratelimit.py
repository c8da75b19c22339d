"""Per-connection token bucket for client frames.

The clock is a class attribute so tests can move time without sleeping.
"""

import time


class TokenBucket:
    timer = staticmethod(time.monotonic)

    def __init__(self, rate, burst):
        self.rate = rate
        self.burst = burst
        self.tokens = float(burst)
        self.updated = self.timer()

    def take(self):
        now = self.timer()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False
