"""Progress reporting for long data jobs (download, cache build).

A progress callback is called as ``progress((done, total), desc="...")`` — the calling convention of
``gr.Progress``, so the app can pass its ``gr.Progress()`` object directly. The CLI passes a :class:`TqdmProgress`.
"""

from __future__ import annotations

from typing import Any, Protocol


class ProgressCallback(Protocol):
    """Anything callable as ``progress((done, total), desc=...)`` (e.g. ``gr.Progress()``)."""

    def __call__(self, progress: tuple[int, int], desc: str | None = None) -> Any: ...


class TqdmProgress:
    """Adapter that drives one tqdm bar from progress callbacks; close it (or use ``with``) when done."""

    def __init__(self, unit: str = "file", **tqdm_kwargs: Any):
        from tqdm.auto import tqdm

        self._bar = tqdm(total=0, unit=unit, **tqdm_kwargs)

    def __call__(self, progress: tuple[int, int], desc: str | None = None) -> None:
        done, total = progress
        if self._bar.total != total:
            self._bar.total = total
        if desc:
            self._bar.set_description_str(desc, refresh=False)
        self._bar.update(done - self._bar.n)

    def close(self) -> None:
        self._bar.close()

    def __enter__(self) -> TqdmProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def report(progress: ProgressCallback | None, done: int, total: int, desc: str) -> None:
    """Call ``progress`` if given (a no-op otherwise)."""
    if progress is not None:
        progress((done, total), desc=desc)
