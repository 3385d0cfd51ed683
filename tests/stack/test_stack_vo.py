"""tests/vo's protection tests, unchanged, against the production stack: the same
requests through HTTPS, Caddy, the gate and the DaCHS processes (conftest.py here gives
them the stack as their vo_service). Those that need the database or the files are left
to the ordinary suite."""

from test_vo_protect import (  # noqa: F401  (collected here: pytest runs imported tests)
    test_datalink_served_file_is_protected,
    test_getproduct_is_protected,
    test_getproduct_preview_is_protected,
    test_no_debug_pages,
    test_preview_service_is_protected,
    test_public_product_needs_no_credentials,
    test_soda_cutout_is_protected,
    test_soda_refuses_before_checking_parameters,
    test_spectrum_datalink_file_is_protected,
)
from test_vo_security import test_every_product_path_of_an_embargoed_file  # noqa: F401
