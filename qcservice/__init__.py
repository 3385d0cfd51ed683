"""MUSE GTO data centre: catalogue, batch QC, QA viewer and VO publishing for MUSE."""

__version__ = "0.1.0"
