"""The version of SegLab (its own module so that the core can read it without the API)."""

__version__ = "0.1.0"
