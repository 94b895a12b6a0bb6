"""nbval settings for the lesson notebooks (kept here so that notebooks/ holds only lessons).

Graphviz's SVG carries ids and numbers that change between graphviz versions, so stored SVG is not
compared (the numbers it shows are checked by the text outputs and by tests/). Widget views are
never compared by nbval; their text/plain fallback is.
"""

from nbval.plugin import IPyNbFile


def pytest_collectstart(collector):
    if isinstance(collector, IPyNbFile):
        collector.skip_compare = (*collector.skip_compare, "image/svg+xml")
