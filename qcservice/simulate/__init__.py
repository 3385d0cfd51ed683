"""A MUSE night simulator: raw frames and pipeline products with known truth."""
