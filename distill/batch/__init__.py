"""Deferred teacher calls through a provider's batch API (half price, answers within a day).

`backend.py` is the protocol a provider's batch API implements; the dispatcher gathers the calls the Teacher
makes while batch mode is on and sends them through it.
"""
