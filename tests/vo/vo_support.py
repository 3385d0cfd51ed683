"""What the VO tests share besides fixtures (tests/vo/conftest.py): the test data's
password and embargo. Test modules import from here, never from ``conftest``: with a
conftest.py in several folders, ``import conftest`` finds whichever pytest loaded last."""

from __future__ import annotations

import datetime as dt

EMBARGO = dt.date(2099, 1, 1)
PASSWORD = "s3cret-pw"
