"""Ingest: catalogue FITS files (headers only) into the qc schema."""
