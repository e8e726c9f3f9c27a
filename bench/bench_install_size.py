"""What ``pip install -r requirements.txt`` installs, and how large it is on disk.

pip resolves the requirements as for an empty environment (``--dry-run --ignore-installed --report``); the size of
each resolved distribution is the sum of its installed files (from its ``RECORD``) in this environment, so the figure
is measured on disk, not estimated from download sizes. Distributions installed here at another version than the
one resolved are measured at the installed version and listed.

    python -m bench.bench_install_size --requirements requirements.txt
"""

from __future__ import annotations

import argparse
import importlib.metadata as metadata
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path


def resolve(requirements: Path) -> dict[str, str]:
    """Distribution name -> version pip would install into an empty environment."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        cmd = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet"]
        subprocess.run([*cmd, "--report", str(report), "-r", str(requirements)], check=True)
        items = json.loads(report.read_text())["install"]
    return {item["metadata"]["name"]: item["metadata"]["version"] for item in items}


def installed_size(name: str) -> tuple[int, str] | None:
    """Bytes on disk of an installed distribution's files and its installed version (None: not installed)."""
    try:
        dist = metadata.distribution(name)
    except metadata.PackageNotFoundError:
        return None
    total = 0
    for file in dist.files or []:
        path = dist.locate_file(file)
        if os.path.isfile(path):
            total += os.path.getsize(path)
    return total, dist.version


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requirements", default="requirements.txt")
    parser.add_argument("--top", type=int, default=8, help="largest distributions listed")
    args = parser.parse_args(argv)
    resolved = resolve(Path(args.requirements))
    sizes, other_version, missing = {}, [], []
    for name, version in resolved.items():
        found = installed_size(name)
        if found is None:
            missing.append(name)
            continue
        sizes[name], installed = found
        if installed != version:
            other_version.append(f"{name} {version} (measured {installed})")
    largest = sorted(sizes.items(), key=lambda kv: -kv[1])[: args.top]
    result = {
        "distributions": len(resolved),
        "installed_mb": round(sum(sizes.values()) / 1e6),
        "largest_mb": {f"{n} {resolved[n]}": round(s / 1e6) for n, s in largest},
        "cuda_distributions": sorted(n for n in resolved if n.lower().startswith("nvidia")),
        "measured_at_another_version": other_version,
        "not_installed_here": missing,
    }
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
