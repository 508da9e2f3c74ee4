"""README.md's configuration table lists every variable that Lockstep's code reads."""

from __future__ import annotations

import re
from pathlib import Path

from tests.test_compose import variables_read_by_code

ROOT = Path(__file__).resolve().parent.parent


def configuration_table_variables() -> set[str]:
    readme = (ROOT / "README.md").read_text()
    return set(re.findall(r"^\| `(LOCKSTEP_[A-Z0-9_]+)` \|", readme, re.MULTILINE))


def test_readme_lists_every_variable():
    missing = variables_read_by_code() - configuration_table_variables()

    assert not missing, f"README.md's configuration table lacks {sorted(missing)}"
