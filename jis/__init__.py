"""jis: a just-in-sequence line-side sequencing engine."""

__version__ = "0.1.0"
