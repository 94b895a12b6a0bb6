#!/usr/bin/env python3
"""Vendor what the course's static pages load (python3 run.py site), so that they need no CDN:

- requirejs                      require.js: the module loader the widget manager runs on
- @jupyter-widgets/html-manager  embed-amd.js: draws saved widget state in a static page
- anywidget                      dist/index.js (AMD): the front end of every compgraph widget
- katex                          the math renderer (script, styles, auto-render, woff2 fonts)

    python3 tools/vendor_site.py            # fetch the pinned versions with `npm pack`, copy in
    python3 tools/vendor_site.py --check    # re-hash the vendored files against VENDOR.json

Writes web/vendor/ and web/vendor/VENDOR.json: for every package its version, licence, where it
came from (the registry tarball's sha256) and, for every file taken from it, the file's size and
sha256. Each package's licence text goes into web/vendor/licenses/. Nothing is fetched when the
site is built or read; the repository holds the files.
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

ROOT = Path(__file__).resolve().parent.parent
VENDOR = ROOT / "web" / "vendor"
RECORD = VENDOR / "VENDOR.json"

# package -> (version, {file in web/vendor: path in the npm tarball, or a glob ending in /*.ext})
PACKAGES: dict[str, tuple[str, dict[str, str]]] = {
    "requirejs": ("2.3.8", {"require.js": "package/require.js"}),
    # the version nbconvert's HTML exporter asks for (it reads the range from ipywidgets 8)
    "@jupyter-widgets/html-manager": ("1.0.15", {
        "embed-amd.js": "package/dist/embed-amd.js",
        # the notices of what its bundle holds (the same bundle as embed-amd.js, as a script)
        "licenses/html-manager-bundled.txt": "package/dist/embed.js.LICENSE.txt",
    }),
    # must match the anywidget Python package in requirements.lock (a test checks it)
    "anywidget": ("0.11.0", {"anywidget.js": "package/dist/index.js"}),
    "katex": ("0.19.1", {
        "katex/katex.min.js": "package/dist/katex.min.js",
        "katex/katex.min.css": "package/dist/katex.min.css",
        "katex/auto-render.min.js": "package/dist/contrib/auto-render.min.js",
        # browsers take the first format they support in @font-face: woff2 everywhere today,
        # so the older woff and ttf copies would never be asked for
        "katex/fonts/*.woff2": "package/dist/fonts/*.woff2",
    }),
}
LICENSE_NOTES = {
    "requirejs": "MIT; the notice is in the header comment of require.js.",
    "@jupyter-widgets/html-manager": (
        "BSD-3-Clause (Project Jupyter); the bundle also holds its dependencies (Lumino, "
        "jQuery, Font Awesome's CSS, ajv, ...) under their own permissive licences, as listed "
        "by the package's published third-party notices."),
    "anywidget": "MIT",
    "katex": "MIT, fonts included (KaTeX's LICENSE).",
}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def tarball_files(archive: tarfile.TarFile, pattern: str) -> dict[str, bytes]:
    """The members a mapping names: one path, or every file of a folder with one suffix."""
    if "*" not in pattern:
        return {pattern: archive.extractfile(pattern).read()}
    folder, suffix = pattern.split("*", 1)
    return {m.name: archive.extractfile(m).read() for m in archive.getmembers()
            if m.isfile() and m.name.startswith(folder) and m.name.endswith(suffix)
            and "/" not in m.name[len(folder):]}


def fetch() -> int:
    record: dict = {"about": "Files the static pages load, vendored by tools/vendor_site.py; "
                             "sizes and sha256 are of the files here.", "packages": {}}
    wanted: set[Path] = {RECORD}
    for package, (version, files) in PACKAGES.items():
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run(["npm", "pack", f"{package}@{version}", "--silent"], cwd=tmp,
                           check=True, capture_output=True)
            tarball = next(Path(tmp).glob("*.tgz"))
            packed_sha = sha256(tarball.read_bytes())
            with tarfile.open(tarball) as archive:
                meta = json.load(archive.extractfile("package/package.json"))
                licence_text = next((archive.extractfile(m).read() for m in archive.getmembers()
                                     if re.fullmatch(r"package/(LICEN[CS]E|COPYING)(\.\w+)?",
                                                     m.name)), None)
                taken = {}
                for target, source in files.items():
                    found = tarball_files(archive, source)
                    if not found:
                        sys.exit(f"{package}@{version}: nothing at {source}")
                    for member, data in sorted(found.items()):
                        name = (target.replace("*" + Path(source).suffix, "")
                                + Path(member).name) if "*" in target else target
                        path = VENDOR / name
                        path.parent.mkdir(parents=True, exist_ok=True)
                        path.write_bytes(data)
                        wanted.add(path)
                        taken[name] = {"from": member, "bytes": len(data), "sha256": sha256(data)}
        if meta["version"] != version:
            sys.exit(f"npm gave {package} {meta['version']}, wanted {version}")
        entry = {
            "version": version,
            "license": meta.get("license"),
            "license_note": LICENSE_NOTES[package],
            "source": f"npm pack {package}@{version}",
            "tarball_sha256": packed_sha,
            "repository": (meta.get("repository") or {}).get("url")
            if isinstance(meta.get("repository"), dict) else meta.get("repository"),
            "files": taken,
        }
        if licence_text is not None:
            licence = VENDOR / "licenses" / (package.replace("/", "__").lstrip("@") + ".txt")
            licence.parent.mkdir(parents=True, exist_ok=True)
            licence.write_bytes(licence_text)
            wanted.add(licence)
            entry["license_file"] = licence.relative_to(VENDOR).as_posix()
        record["packages"][package] = entry
        size = sum(f["bytes"] for f in taken.values())
        print(f"vendored {package} {version}: {len(taken)} file(s), {size:,} bytes")
    for stale in sorted(p for p in VENDOR.rglob("*") if p.is_file() and p not in wanted):
        stale.unlink()
        print(f"removed {stale.relative_to(ROOT)} (no longer vendored)")
    RECORD.write_text(json.dumps(record, indent=2) + "\n")
    return 0


def problems() -> list[str]:
    """What differs between web/vendor and VENDOR.json (empty when they agree)."""
    record = json.loads(RECORD.read_text())
    found = []
    listed = {RECORD}
    for package, entry in record["packages"].items():
        pinned = PACKAGES.get(package, (None,))[0]
        if entry["version"] != pinned:
            found.append(f"{package}: VENDOR.json has {entry['version']}, this script pins "
                         f"{pinned}; run python3 tools/vendor_site.py")
        if entry.get("license_file"):
            listed.add(VENDOR / entry["license_file"])
        for name, about in entry["files"].items():
            path = VENDOR / name
            listed.add(path)
            if not path.is_file():
                found.append(f"{name} ({package}) is missing")
            elif sha256(path.read_bytes()) != about["sha256"]:
                found.append(f"{name} ({package}) does not match its sha256 in VENDOR.json")
    for package in set(PACKAGES) - set(record["packages"]):
        found.append(f"{package} is pinned here but not vendored; run python3 "
                     f"tools/vendor_site.py")
    extra = sorted(p.relative_to(VENDOR).as_posix() for p in VENDOR.rglob("*")
                   if p.is_file() and p not in listed)
    if extra:
        found.append(f"files in web/vendor that VENDOR.json does not list: {extra}")
    return found


def check() -> int:
    found = problems()
    for problem in found:
        print(problem)
    if not found:
        print("web/vendor matches VENDOR.json")
    return 1 if found else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="verify the vendored files")
    sys.exit(check() if parser.parse_args().check else fetch())
