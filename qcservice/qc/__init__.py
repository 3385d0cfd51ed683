"""Batch quality control of MUSE nights: all 24 IFUs of a frame together, on a local
pool of processes or a Dask cluster; metrics, dated thresholds, flags and QA states."""
