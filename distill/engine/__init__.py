"""The engine every recipe runs on: cached, retried, rate-limited teacher calls through a sliding window."""
