"""Command line: ``python -m core <command> ...``.

Each command lives in its own module exposing ``add_arguments(parser)`` and ``run(args) -> int``; modules are
imported only when their command runs, so ``python -m core download`` does not pay for importing torch.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

# command name -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "download": ("core.data.download", "fetch a dataset from PhysioNet (or a mirror) into the cache"),
    "catalog": ("core.data.catalog_cli", "list the records of a dataset with their text and labels"),
    "text-coverage": ("core.text.coverage", "share of PTB-XL report tokens the English layer translates"),
    "measure": ("core.measure.cli", "waveform measurements of an ECG file, as numbers and an English sentence"),
    "validate-measurements": ("core.measure.validate", "compare measurements with LUDB's manual annotations"),
    "train": ("core.train", "train an ECG-text model with a recipe (mets, dbeta, fgclep)"),
    "evaluate": ("core.evaluate.cli", "zero-shot, linear probe and retrieval evaluation of a checkpoint"),
    "embed": ("core.embed_corpus", "embed a dataset's ECGs with a checkpoint (one process or torchrun; resumable)"),
    "build-index": ("core.explorer", "embed a dataset, build the FAISS index and the UMAP map (cached)"),
    "annotations": ("core.annotations.cli", "export or import the annotation store (CSV / JSON)"),
    "synth-corpus": ("core.data.synthetic", "write N synthetic ECGs in MIMIC-IV-ECG's layout from real records"),
    "hub": ("core.hub.cli", "export / push Hub model repositories and demo bundles (huggingface_hub)"),
}


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` and run one command; returns the process exit code."""
    parser = argparse.ArgumentParser(prog="python -m core", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    argv = list(sys.argv[1:] if argv is None else argv)
    # Only the chosen command's module is imported; the others are listed by name and help alone.
    chosen = next((a for a in argv if not a.startswith("-")), None)
    for name, (module_name, help_text) in COMMANDS.items():
        cmd_parser = sub.add_parser(name, help=help_text, description=help_text)
        if name == chosen:
            module = importlib.import_module(module_name)
            module.add_arguments(cmd_parser)
            cmd_parser.set_defaults(_run=module.run)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    return int(args._run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
