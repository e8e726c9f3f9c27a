"""Export a checkpoint as a Hub model repository folder (``python -m core hub export CHECKPOINT OUT_DIR``).

The folder holds everything a user of the weights asks for::

    config.json, model.safetensors   the checkpoint, byte for byte (so its content hash, the app's cache key, is kept)
    preprocessing.json               the preprocessing (also inside config.json)
    prompts/<set>.json               the zero-shot prompt sets of the evaluation (assets/prompts)
    label_maps.json                  per evaluated task: class order of the outputs and the ground-truth label sets
    eval/results.json                this checkpoint's run of eval/results.json (+ contrast_set.json, queries.json)
    training_params.yaml             the run's resolved training options, when the checkpoint folder has them
    README.md                        the model card (Hub YAML metadata with model-index + body)
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import core
from core.checkpoint import CONFIG_NAME, WEIGHTS_NAME, checkpoint_dir, read_checkpoint_config
from core.hub import evalresults
from core.hub.card import CardInputs, check_card, model_card
from core.zeroshot import PROMPTS_DIR, list_prompt_sets, load_prompt_set

logger = logging.getLogger(__name__)

REPO_ROOT = Path(core.__file__).resolve().parents[1]
RESULTS_JSON = REPO_ROOT / "eval" / "results.json"
EVAL_DEFINITIONS = ("contrast_set.json", "queries.json")
PARAMS_NAME = "params.yaml"


def label_maps(run: dict | None, prompts_dir: Path = PROMPTS_DIR) -> dict:
    """For each zero-shot task of the run (or every prompt set when there is none): the prompt set, the output order
    of its classes, and which record labels are the ground truth, as :func:`core.evaluate.data.tasks_for` pairs them
    (``<dataset>_<label_set>.json`` scores that label set, ``<dataset>.json`` the union of the dataset's label sets).
    """
    tasks: list[tuple[str, str, str]] = []  # (dataset, task, prompt-set stem)
    if run:
        for dataset, data in run.get("datasets", {}).items():
            for task in data.get("zeroshot", {}):
                tasks.append((dataset, task, dataset if task == dataset else f"{dataset}_{task}"))
    else:
        tasks = [(stem.split("_")[0], stem.partition("_")[2] or stem, stem) for stem in list_prompt_sets(prompts_dir)]
    out = {}
    for dataset, task, stem in tasks:
        classes = load_prompt_set(stem, prompts_dir).class_names
        out[f"{dataset}/{task}"] = {
            "prompt_set": f"prompts/{stem}.json",
            "ground_truth": f"record labels of the set '{task}'"
            if task != dataset
            else "record labels of any of the dataset's label sets",
            "classes": classes,
            "index": {name: i for i, name in enumerate(classes)},
        }
    return out


def train_command(checkpoint: Path, config: dict) -> str:
    """The command that reproduces the run: its resolved options (``params.yaml``, shipped as
    ``training_params.yaml``) passed back with ``--config``."""
    recipe = config.get("recipe", "<recipe>")
    if (checkpoint / PARAMS_NAME).is_file():
        return f"python -m core train --recipe {recipe} --config training_params.yaml --out runs/{recipe}"
    data = ",".join(config.get("train", {}).get("data", [])) or "<datasets>"
    return f"python -m core train --recipe {recipe} --data {data} --out runs/{recipe}"


def export_model_repo(
    checkpoint: str | Path,
    out_dir: str | Path,
    *,
    name: str | None = None,
    repo_id: str | None = None,
    results_json: str | Path = RESULTS_JSON,
    license: str = "mit",
) -> Path:
    """Write the Hub model repository folder of a checkpoint and check its card offline (:func:`check_card`).

    Args:
        checkpoint: checkpoint directory (``config.json`` + ``model.safetensors``).
        out_dir: the folder to write (created; existing files of the same names are replaced).
        name: model name for the card (default: ``ecg-<recipe>``).
        repo_id: ``org/name`` it will be pushed to, for the card's loading snippet.
        results_json: the evaluation JSON the ``model-index`` is generated from.
        license: the weights' Hub license id.

    Returns:
        ``out_dir``.
    """
    src = checkpoint_dir(checkpoint)
    config = read_checkpoint_config(src)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for file in (CONFIG_NAME, WEIGHTS_NAME):
        shutil.copyfile(src / file, out / file)
    (out / "preprocessing.json").write_text(json.dumps(config["preprocess_cfg"], indent=2) + "\n", encoding="utf-8")

    run = evalresults.find_run(results_json, src, REPO_ROOT)
    if run is None:
        logger.warning("%s has no run in %s: the card will say it was not evaluated", src, results_json)
    maps = label_maps(run)
    (out / "prompts").mkdir(exist_ok=True)
    for entry in maps.values():
        stem = Path(entry["prompt_set"]).stem
        shutil.copyfile(PROMPTS_DIR / f"{stem}.json", out / "prompts" / f"{stem}.json")
    (out / "label_maps.json").write_text(json.dumps(maps, indent=1) + "\n", encoding="utf-8")
    if run is not None:
        (out / "eval").mkdir(exist_ok=True)
        (out / "eval" / "results.json").write_text(json.dumps(run, indent=1) + "\n", encoding="utf-8")
        for definition in EVAL_DEFINITIONS:
            if (Path(results_json).parent / definition).is_file():
                shutil.copyfile(Path(results_json).parent / definition, out / "eval" / definition)
    if (src / PARAMS_NAME).is_file():
        shutil.copyfile(src / PARAMS_NAME, out / "training_params.yaml")

    inputs = CardInputs(
        name=name or f"ecg-{config.get('recipe', 'model')}",
        config=config,
        run=run,
        train_command=train_command(src, config),
        repo_id=repo_id,
        license=license,
    )
    card = model_card(inputs)
    card.save(out / "README.md")
    check_card(out / "README.md", expected=evalresults.eval_results(run) if run else None)
    logger.info("exported %s to %s (%d evaluation results in the card)", src, out, len(card.data.eval_results or []))
    return out
