"""``python -m core hub ...``: export a checkpoint as a Hub model repository, export a demo bundle, push either.

python -m core hub export checkpoints/mets out/ecg-mets --repo-id org/ecg-mets
python -m core hub push out/ecg-mets org/ecg-mets                     # HF_TOKEN from the environment
python -m core hub bundle export out/demo-bundle --checkpoint checkpoints/mets --records ptbxl:500,ludb:200
python -m core hub push out/demo-bundle org/ecg-demo --repo-type dataset
"""

from __future__ import annotations

import argparse
import logging

logger = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Sub-commands of ``python -m core hub``."""
    sub = parser.add_subparsers(dest="hub_command", required=True, metavar="HUB_COMMAND")

    export = sub.add_parser("export", help="write a checkpoint as a Hub model repository folder (with model card)")
    export.add_argument("checkpoint", help="checkpoint directory (config.json + model.safetensors)")
    export.add_argument("out_dir", help="folder to write")
    export.add_argument("--repo-id", help="org/name it will be pushed to (for the card's loading snippet)")
    export.add_argument("--name", help="model name in the card (default: ecg-<recipe>)")
    export.add_argument("--results", help="evaluation JSON for the model-index (default: eval/results.json)")
    export.add_argument("--license", default="mit", help="Hub license id of the weights (default: %(default)s)")
    export.set_defaults(_hub=_export)

    push = sub.add_parser("push", help="upload a folder to a Hub repository (token: HF_TOKEN)")
    push.add_argument("folder", help="an exported model repository or demo bundle")
    push.add_argument("repo_id", help="org/name")
    push.add_argument("--repo-type", choices=("model", "dataset"), default="model", help="dataset for demo bundles")
    push.add_argument("--revision", help="branch to commit to (default: the default branch)")
    push.add_argument("--private", action="store_true", help="create the repository private")
    push.set_defaults(_hub=_push)

    bundle = sub.add_parser("bundle", help="demo bundles of the explorer's cached index")
    bundle_sub = bundle.add_subparsers(dest="bundle_command", required=True, metavar="BUNDLE_COMMAND")
    bexport = bundle_sub.add_parser("export", help="write the cached index of (checkpoint, records) as a bundle")
    bexport.add_argument("out_dir", help="folder to write")
    where = bexport.add_mutually_exclusive_group(required=True)
    where.add_argument("--checkpoint", help="the index checkpoint (its cache folder is found by hash + records)")
    where.add_argument("--folder", help="an explorer cache folder (<data dir>/explorer/<key>)")
    bexport.add_argument("--records", default="ptbxl:500,ludb:200", help="data spec (default: %(default)s)")
    bexport.add_argument("--map", choices=("umap", "pca"), default="umap", help="map method (default: %(default)s)")
    bexport.set_defaults(_hub=_bundle_export)


def _export(args) -> int:
    from core.hub.export import RESULTS_JSON, export_model_repo

    out = export_model_repo(
        args.checkpoint,
        args.out_dir,
        name=args.name,
        repo_id=args.repo_id,
        results_json=args.results or RESULTS_JSON,
        license=args.license,
    )
    logger.info("model repository written to %s (card metadata checked offline)", out)
    return 0


def _push(args) -> int:
    from core.hub.push import push_folder

    push_folder(args.folder, args.repo_id, repo_type=args.repo_type, revision=args.revision, private=args.private)
    return 0


def _bundle_export(args) -> int:
    from core.checkpoint import checkpoint_hash
    from core.explorer.store import DemoSpec, cache_folder
    from core.hub.bundle import export_bundle

    if args.folder:
        folder = args.folder
    else:
        spec = DemoSpec.parse(args.records, map_method=args.map)
        folder = cache_folder(checkpoint_hash(args.checkpoint), spec)
    export_bundle(folder, args.out_dir)
    return 0


def run(args) -> int:
    """Run the chosen ``hub`` sub-command."""
    return int(args._hub(args) or 0)
