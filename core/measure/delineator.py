"""Load the trained U-Net delineator and turn a multi-lead ECG into global P/QRS/T masks.

Weights live in ``checkpoints/delineator/`` as safetensors plus ``config.json`` (architecture, lead-vote thresholds,
the LUDB cross-validation folds). ``model.safetensors`` was trained on all 200 LUDB records (use it for inference);
``fold{k}.safetensors`` were trained without fold ``k`` so validation on LUDB is out-of-fold. Without
``model.safetensors`` the shipped delineator is the ensemble of the fold models (averaged class probabilities).
"""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np
from scipy import signal as sps

from core.data.filters import butter_sos
from core.measure.unet import P_WAVE, QRS, T_WAVE, UNet1d, UNetConfig
from core.measure.waves import clean_mask, runs, shift_runs, votes_needed

DEFAULT_DIR = Path(__file__).resolve().parents[2] / "checkpoints" / "delineator"
CONFIG_NAME = "config.json"
FINAL_WEIGHTS = "model.safetensors"

# Post-processing (ms): close gaps inside a wave, drop runs too short to be that wave.
_MIN_LEN_MS = {P_WAVE: 20.0, QRS: 24.0, T_WAVE: 40.0}
_MAX_GAP_MS = {P_WAVE: 12.0, QRS: 12.0, T_WAVE: 20.0}
# Share of the leads that must label a wave somewhere for it to count (see Delineator.combine_labels).
_SEED_SHARE = 0.25


def delineator_dir() -> Path:
    """``$ECG_DELINEATOR_DIR`` if set, else ``checkpoints/delineator`` in the repository."""
    env = os.environ.get("ECG_DELINEATOR_DIR")
    return Path(env).expanduser() if env else DEFAULT_DIR


def bandpass_leads_mv(
    signal_mv: np.ndarray, fs_hz: float, out_fs_hz: float, highpass_hz: float = 0.5, lowpass_hz: float = 40.0
) -> np.ndarray:
    """Resample to ``out_fs_hz`` and band-pass each lead (zero phase); NaNs become 0. Units stay mV.

    Args:
        signal_mv: float array (leads, samples).
        fs_hz: its sampling rate.
        out_fs_hz: the rate of the result.
        highpass_hz: lower edge (removes baseline wander).
        lowpass_hz: upper edge (removes mains and muscle noise); capped below Nyquist.

    Returns:
        float64 array (leads, samples at ``out_fs_hz``).
    """
    x = np.nan_to_num(np.asarray(signal_mv, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    if abs(fs_hz - out_fs_hz) > 1e-6:
        ratio = Fraction(out_fs_hz / fs_hz).limit_denominator(1000)
        x = sps.resample_poly(x, ratio.numerator, ratio.denominator, axis=-1)
    sos = butter_sos(2, (highpass_hz, min(lowpass_hz, 0.45 * out_fs_hz)), out_fs_hz, "band")
    if x.shape[-1] > 3 * 2 * len(sos) + 1:
        x = sps.sosfiltfilt(sos, x, axis=-1)
    return x


def prepare_lead_signals(signal_mv: np.ndarray, fs_hz: float, cfg: UNetConfig) -> np.ndarray:
    """Resample to the network rate, band-pass (zero phase) and scale each lead.

    Args:
        signal_mv: float array (leads, samples) in mV; NaNs are replaced by 0.
        fs_hz: its sampling rate.
        cfg: the network's input convention.

    Returns:
        float32 array (leads, samples at ``cfg.fs_hz``), each lead divided by a robust amplitude (99th percentile of
        the absolute signal), so gain and units do not matter.
    """
    return scale_leads(bandpass_leads_mv(signal_mv, fs_hz, cfg.fs_hz, cfg.highpass_hz, cfg.lowpass_hz))


def scale_leads(x: np.ndarray) -> np.ndarray:
    """Each lead (row) divided by its robust amplitude (99th percentile of the absolute signal), as float32."""
    scale = np.percentile(np.abs(x), 99, axis=-1, keepdims=True)
    return (x / np.maximum(scale, 1e-3)).astype(np.float32)


@dataclass
class Delineator:
    """A loaded delineator: the network, its input convention and how per-lead labels are combined.

    Attributes:
        models: one or more U-Nets in eval mode (several: their class probabilities are averaged).
        cfg: its :class:`UNetConfig`.
        shift_ms: systematic boundary corrections in ms (``P_on``, ``QRS_on``, ``QRS_off``, ``T_off``): onsets are
            moved earlier and offsets later by these amounts (estimated out-of-fold by :mod:`core.measure.calibrate`).
    """

    models: list[UNet1d]
    cfg: UNetConfig
    shift_ms: dict[str, float] = field(default_factory=dict)

    def label_leads(self, signal_mv: np.ndarray, fs_hz: float) -> np.ndarray:
        """Per-lead class labels (leads, samples at ``cfg.fs_hz``): 0 background, 1 P, 2 QRS, 3 T."""
        return self.label_filtered(self.filter_leads(signal_mv, fs_hz))

    def filter_leads(self, signal_mv: np.ndarray, fs_hz: float) -> np.ndarray:
        """The leads resampled to the network rate and band-passed as the network expects (mV, float64)."""
        return bandpass_leads_mv(signal_mv, fs_hz, self.cfg.fs_hz, self.cfg.highpass_hz, self.cfg.lowpass_hz)

    def label_filtered(self, filtered_mv: np.ndarray) -> np.ndarray:
        """Per-lead class labels from leads already passed through :meth:`filter_leads`."""
        import torch

        x = scale_leads(filtered_mv)
        n = x.shape[-1]
        pad = (-n) % self.cfg.multiple
        mode = "reflect" if n > pad else "constant"
        x = np.pad(x, ((0, 0), (0, pad)), mode=mode)
        with torch.inference_mode():
            inp = torch.from_numpy(x)[:, None, :]
            if len(self.models) == 1:  # argmax of the logits is the argmax of the probabilities
                scores = self.models[0](inp)
            else:
                scores = sum(torch.softmax(model(inp), dim=1) for model in self.models)
        # numpy's argmax over the class axis is ~7x faster than torch's here; both take the first maximum.
        return scores[:, :, :n].numpy().argmax(axis=1)

    def global_masks(self, signal_mv: np.ndarray, fs_hz: float, *, corrected: bool = True) -> np.ndarray:
        """Global P/QRS/T masks (3, samples at ``cfg.fs_hz``) from the leads given (rows of ``signal_mv``).

        A sample is part of a global wave when at least :func:`core.measure.waves.votes_needed` leads label it so
        (the definition shared with the LUDB reference); runs are then cleaned of tiny gaps and fragments, and (if
        ``corrected``) boundaries are shifted by ``shift_ms``.
        """
        return self.combine_labels(self.label_leads(signal_mv, fs_hz), corrected=corrected)

    def combine_labels(self, labels: np.ndarray, *, corrected: bool = True) -> np.ndarray:
        """Global masks (3, samples) from per-lead labels (leads, samples); see :meth:`global_masks`."""
        n_leads = labels.shape[0]
        ms = 1000.0 / self.cfg.fs_hz
        shift = self.shift_ms if corrected else {}
        out = []
        for cls, name, on_key, off_key in (
            (P_WAVE, "P", "P_on", None),
            (QRS, "QRS", "QRS_on", "QRS_off"),
            (T_WAVE, "T", None, "T_off"),
        ):
            count = (labels == cls).sum(axis=0)
            need = votes_needed(name, n_leads)
            mask = clean_mask(count >= need, min_len=round(_MIN_LEN_MS[cls] / ms), max_gap=round(_MAX_GAP_MS[cls] / ms))
            # Hysteresis: a wave must be seen by a share of the leads somewhere (one lead's false positive is not a
            # beat), but once seen it extends as far as ``need`` leads see it (earliest onset / latest offset).
            seed = count >= max(need, int(np.ceil(_SEED_SHARE * n_leads)))
            mask = np.concatenate([[False], mask, [False]])
            keep = np.zeros_like(mask)
            for start, stop in runs(mask[1:-1]):
                if seed[start : stop + 1].any():
                    keep[start + 1 : stop + 2] = True
            mask = keep[1:-1]
            on = round(float(shift.get(on_key, 0.0)) / ms) if on_key else 0
            off = round(float(shift.get(off_key, 0.0)) / ms) if off_key else 0
            out.append(shift_runs(mask, on, off) if (on or off) else mask)
        return np.stack(out)


def read_config(directory: Path | None = None) -> dict:
    """The delineator's ``config.json``."""
    path = Path(directory or delineator_dir()) / CONFIG_NAME
    return json.loads(path.read_text())


@functools.lru_cache(maxsize=8)
def load_delineator(directory: str | None = None, weights: str = FINAL_WEIGHTS) -> Delineator:
    """Load (once per process) a delineator from ``directory`` (default :func:`delineator_dir`).

    Args:
        directory: folder with ``config.json`` and the weights.
        weights: file name of the weights: ``model.safetensors`` (the shipped model; when that file is absent, the
            ensemble of all fold models, which together saw all of LUDB), or ``fold{k}.safetensors`` (validation).

    Raises:
        FileNotFoundError: the folder or the weights are missing.
    """
    from safetensors.torch import load_file

    folder = Path(directory) if directory else delineator_dir()
    config = read_config(folder)
    cfg = UNetConfig.from_dict(config["model_cfg"])
    files = [weights]
    if weights == FINAL_WEIGHTS and not (folder / weights).is_file():
        files = [f for f in config.get("fold_weights", []) if (folder / f).is_file()]
    missing = [f for f in files if not (folder / f).is_file()]
    if missing or not files:
        raise FileNotFoundError(f"delineator weights not found in {folder}: {missing or weights}")
    models = []
    for name in files:
        model = UNet1d(cfg)
        model.load_state_dict(load_file(str(folder / name)))
        models.append(model.eval().fuse_batchnorm())
    # Boundary corrections: a fold model uses the one estimated without its held-out fold.
    key = "all" if weights == FINAL_WEIGHTS else Path(weights).stem
    shift = config.get("boundary_shift_ms", {}).get(key, {})
    return Delineator(models=models, cfg=cfg, shift_ms=dict(shift))
