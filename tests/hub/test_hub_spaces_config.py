"""The Space configuration: README front matter, the Gradio pin and the CPU torch wheel agree with each other."""

from __future__ import annotations

import re
from pathlib import Path

import gradio
import yaml

ROOT = Path(__file__).resolve().parents[2]


def _front_matter() -> dict:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    head = text.removeprefix("---\n").partition("\n---\n")[0]
    return yaml.safe_load(head)


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if match := re.match(r"^([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==(\S+)", line.strip()):
            pins[match.group(1).lower()] = match.group(2)
    return pins


def test_front_matter_pins_the_installed_gradio_and_python():
    meta = _front_matter()
    assert meta["sdk"] == "gradio" and meta["app_file"] == "app.py"
    assert meta["sdk_version"] == gradio.__version__ == _pins(ROOT / "requirements.txt")["gradio"]
    assert meta["python_version"] == "3.11"  # a string: YAML would read 3.10 as 3.1
    assert meta["hf_oauth"] is True


def test_spaces_installs_the_cpu_build_of_the_pinned_torch_first():
    torch_pin = _pins(ROOT / "requirements.txt")["torch"]
    pre = (ROOT / "pre-requirements.txt").read_text(encoding="utf-8")
    assert _pins(ROOT / "pre-requirements.txt")["torch"] == f"{torch_pin}+cpu"
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in pre.splitlines()
    # CI and a local install read only requirements*.txt, which never name the PyTorch index.
    for name in ("requirements.txt", "requirements-dev.txt"):
        assert "download.pytorch.org" not in (ROOT / name).read_text(encoding="utf-8")
