"""What every lesson notebook promises a reader, whatever it teaches."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_each_picture_is_shown_once(path):
    """A widget carries its own still picture for views that cannot run it, so no cell repeats
    a widget's picture 'for a static page' (in JupyterLab a learner would see it twice)."""
    for cell in json.loads(path.read_text())["cells"]:
        text = "".join(cell["source"])
        if cell["cell_type"] == "markdown":
            assert not re.search(r"static page|widget does not run|cannot move", text), text[:80]
        else:
            assert not re.search(r"\.picture\b", text), text[:80]
