"""Support coach: reply checks, customer simulation, storage and web app for role-play training."""

__version__ = "0.1.0"
