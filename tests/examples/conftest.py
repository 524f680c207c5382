"""The example plugins' sources, importable in process as if they were installed (their own distributions
are installed for real in the fresh-environment tests)."""

from __future__ import annotations

import sys

from tests.support.processes import REPO_ROOT

_POLLS = str(REPO_ROOT / "examples" / "polls-plugin")
if _POLLS not in sys.path:
    sys.path.insert(0, _POLLS)
