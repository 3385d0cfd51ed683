"""Bulk downloads of final products.

- ``vo``: the query (TAP), each product's ``#this`` link (DataLink) and the checksums
  taken at ingest (``muse.file_checksums``);
- ``fetch``: one file, resumable (HTTP Range) and verified (SHA-256);
- ``bulk``: the whole selection, K at a time, with its report (``musedc download``);
- ``script`` and ``archive``: what the QA viewer hands out for a selection (a curl
  script that never holds a password; a streamed, size-capped tar archive).
"""
