"""Delivering a selection of files: its items and their places (``items``), a curl
script that never holds a password (``script``) and a streamed, size-capped tar archive
(``archive``); what the QA viewer hands out and the download client reproduces."""
