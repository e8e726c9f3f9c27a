"""Sharing through the Hugging Face Hub, with ``huggingface_hub`` doing the transport, caching and metadata.

- :mod:`core.hub.refs`: ``hf://org/name@revision`` references and their download (``snapshot_download``; its cache,
  ``HF_ENDPOINT`` and ``HF_HUB_OFFLINE`` apply); :func:`core.checkpoint.load_checkpoint` accepts them.
- :mod:`core.hub.export`: a checkpoint -> a model repository folder (weights, config, preprocessing, prompt sets,
  label maps, evaluation, model card).
- :mod:`core.hub.card` / :mod:`core.hub.evalresults`: the model card, its ``model-index`` generated from
  ``eval/results.json``, and an offline check with huggingface_hub's parsers.
- :mod:`core.hub.bundle`: the explorer's cache folder as a versioned, hash-checked demo bundle, and its install at
  app start (``ECG_DEMO_BUNDLE``).
- :mod:`core.hub.push`: upload a folder (``HfApi.upload_folder``).
- :mod:`core.hub.cli`: ``python -m core hub ...``.

Other core modules import this package only on use: :mod:`core.checkpoint` imports :mod:`core.hub.refs` for an
``hf://`` path, the explorer's query service imports :mod:`core.hub.bundle` when a demo bundle is configured.
"""
