"""Fail when a file the checkout tracks under a package folder is missing from the wheel: a package or a template,
migration or example left out of the packaging would otherwise surface only on a user's machine."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

PACKAGES = ("bot", "handlers", "messages", "storage", "sandbox")


def main(wheel: Path) -> int:
    tracked = subprocess.run(["git", "ls-files", "--", *PACKAGES], capture_output=True, text=True, check=True)
    expected = {line for line in tracked.stdout.splitlines() if line}
    with zipfile.ZipFile(wheel) as archive:
        shipped = set(archive.namelist())
    missing = sorted(expected - shipped)
    for path in missing:
        print(f"wheel: {wheel.name} lacks {path}", file=sys.stderr)
    if not missing:
        print(f"wheel: {wheel.name} holds all {len(expected)} tracked files of {', '.join(PACKAGES)}")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
