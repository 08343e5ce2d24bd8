"""icpkit: a data-backed, tiered Ideal Customer Profile from your own revenue data."""

__version__ = "0.1.0"
