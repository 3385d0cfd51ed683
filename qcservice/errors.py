"""The base of the data centre's own errors: what the ``musedc`` command reports as one
clear line (the message names the file or setting and the problem) and exit code 1, where
anything else is a bug and shows its traceback."""

from __future__ import annotations


class MusedcError(Exception):
    """A problem of input, configuration or environment that the user can fix."""
