#!/usr/bin/env python3
"""Vendor the WebAssembly build of Graphviz that the browser front end uses where the kernel has
no `dot`: @viz-js/viz, one ES module with the WebAssembly inlined.

    python3 tools/vendor_viz.py            # fetch the pinned version with `npm pack`, copy it in
    python3 tools/vendor_viz.py --check    # re-hash the vendored file against VIZ.json

Writes compgraph/static/vendor/viz.js and compgraph/static/vendor/VIZ.json (version, licence,
the notice from the file's header, where it came from, size and sha256). Nothing is fetched at
run time; the package ships the file.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

PACKAGE = "@viz-js/viz"
VERSION = "3.31.0"
ROOT = Path(__file__).resolve().parent.parent
VENDOR = ROOT / "compgraph" / "static" / "vendor"
TARGET = VENDOR / "viz.js"
RECORD = VENDOR / "VIZ.json"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fetch() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["npm", "pack", f"{PACKAGE}@{VERSION}", "--silent"], cwd=tmp, check=True,
                       capture_output=True)
        tarball = next(Path(tmp).glob("*.tgz"))
        with tarfile.open(tarball) as archive:
            meta = json.load(archive.extractfile("package/package.json"))
            module = archive.extractfile("package/dist/viz.js").read()
        packed_sha = sha256(tarball)
    if meta["version"] != VERSION:
        sys.exit(f"npm gave {meta['version']}, wanted {VERSION}")
    header = re.match(rb"/\*!(.*?)\*/", module, re.S)
    VENDOR.mkdir(parents=True, exist_ok=True)
    TARGET.write_bytes(module)
    RECORD.write_text(json.dumps({
        "package": PACKAGE,
        "version": VERSION,
        "file": "viz.js (package/dist/viz.js: one ES module, WebAssembly inlined)",
        "license": meta.get("license"),
        "license_note": ("MIT for viz.js; the file also contains, in object code form, Graphviz "
                         "(Eclipse Public License 1.0) and Expat (MIT)."),
        # the copyright notice stays where the licence wants it: the header of viz.js itself
        "notice": "kept in the header comment of viz.js" if header else "none found",
        "source": f"npm pack {PACKAGE}@{VERSION} (registry tarball sha256 {packed_sha})",
        "repository": meta.get("repository", {}).get("url"),
        "bytes": len(module),
        "sha256": sha256(TARGET),
    }, indent=2) + "\n")
    print(f"vendored {PACKAGE} {VERSION}: {len(module):,} bytes, sha256 {sha256(TARGET)}")


def check() -> int:
    record = json.loads(RECORD.read_text())
    actual = sha256(TARGET)
    if actual != record["sha256"]:
        print(f"{TARGET} does not match VIZ.json: {actual} != {record['sha256']}")
        return 1
    print(f"{TARGET.name} {record['version']}: sha256 matches VIZ.json")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="verify the vendored file")
    sys.exit(check() if parser.parse_args().check else fetch())
