"""The app serving a prebuilt index of a synthetic MIMIC-IV-ECG-layout corpus (issue 16), in Chromium.

The corpus is written by :func:`core.data.synthetic.synthesize_corpus`, read back through the MIMIC-IV-ECG catalog,
embedded with a tiny checkpoint and indexed by :func:`core.explorer.build.index_corpus`; the app serves that folder
(``explorer_dir``, ``ECG_EXPLORER_DIR``) instead of building the demo index. The browser pages Browse forward and
back, searches report text and opens a row: the paths a 100 k index is used through, on a few hundred records.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import pytest

from app.state import AppConfig, Services

SOURCE = Path(__file__).resolve().parents[3] / "shared" / "data"
N_RECORDS = 240
PAGE = 25
KEY_BOX = "#ecg-key textarea, #ecg-key input"


def _matches(record, phrase: str) -> bool:
    """What Browse's search matches: the phrase in the record's id, labels, report or English report."""
    from core.explorer.browse import normalise

    fields = (record.record_id, record.label_text(), record.text, record.text_en)
    return any(phrase in normalise(f) for f in fields)


@pytest.fixture(scope="module")
def synthetic_index(app_env, tiny_checkpoints, tmp_path_factory) -> tuple[Path, list]:
    """(explorer folder, its records) for N_RECORDS synthetic records embedded with the tiny-a checkpoint."""
    from core.data.catalogs import load_catalog
    from core.data.readers import read_ecg
    from core.data.synthetic import load_sources, synthesize_corpus
    from core.embed import Embedder
    from core.explorer.build import index_corpus, record_info

    if not (SOURCE / "ptb-xl").is_dir():
        pytest.skip(f"no real records under {SOURCE}")
    root = tmp_path_factory.mktemp("synthetic")
    corpus = root / "corpus"
    synthesize_corpus(N_RECORDS, corpus, SOURCE, workers=1, sources=load_sources(SOURCE, limit=60))
    catalog = load_catalog("mimic_iv_ecg", root=corpus, download=False)
    infos = [record_info(r) for r in catalog.records]
    embedder = Embedder.from_checkpoint(tiny_checkpoints["tiny-a"], name="tiny-a")
    ecg_emb = embedder.encode_ecgs([read_ecg(r.path, record_id=r.record_id) for r in catalog.records])
    text_emb = embedder.encode_texts([r.text_en for r in infos])
    folder = root / "explorer" / "synthetic-mimic"
    manifest = {"checkpoint_hash": embedder.checkpoint_hash}
    index_corpus(infos, ecg_emb, text_emb, key=folder.name, folder=folder, map_method="pca", manifest=manifest)
    return folder, infos


@pytest.fixture(scope="module")
def synthetic_app(synthetic_index, tiny_checkpoints):
    """The app on a free loopback port serving the synthetic index; yields its URL."""
    from app.main import build_app, launch

    folder, _ = synthetic_index
    config = AppConfig(
        checkpoints={"tiny-a": tiny_checkpoints["tiny-a"]}, index_checkpoint="tiny-a", explorer_dir=folder
    )
    services = Services(config)
    services.start()
    assert len(services.explorer(timeout_s=120)) == N_RECORDS
    demo = build_app(services=services)
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    launch(demo, server_name="127.0.0.1", server_port=None, prevent_thread_lock=True, quiet=True)
    try:
        yield demo.local_url
    finally:
        demo.close()


def test_the_explorer_folder_comes_from_the_environment(synthetic_index, tiny_checkpoints, monkeypatch):
    folder, _ = synthetic_index
    monkeypatch.setenv("ECG_CHECKPOINTS", f"tiny-a={tiny_checkpoints['tiny-a']}")
    monkeypatch.setenv("ECG_EXPLORER_DIR", str(folder))
    assert AppConfig.from_env().explorer_dir == folder
    monkeypatch.setenv("ECG_EXPLORER_DIR", "")
    assert AppConfig.from_env().explorer_dir is None


def test_a_folder_embedded_with_another_checkpoint_is_refused(synthetic_index, tiny_checkpoints):
    from core.embed import Embedder
    from core.explorer.build import load_prebuilt

    folder, infos = synthetic_index
    own = Embedder.from_checkpoint(tiny_checkpoints["tiny-a"], lazy=True).checkpoint_hash
    other = Embedder.from_checkpoint(tiny_checkpoints["tiny-b"], lazy=True).checkpoint_hash
    assert [r.record_id for r in load_prebuilt(folder, own).records] == [r.record_id for r in infos]
    with pytest.raises(ValueError, match="another|not the index checkpoint"):
        load_prebuilt(folder, other)
    with pytest.raises(FileNotFoundError):
        load_prebuilt(folder.parent, own)


@pytest.mark.browser
@pytest.mark.timeout(180)
def test_browse_pages_searches_and_opens_a_synthetic_mimic_record(synthetic_app: str, synthetic_index, browser):
    from playwright.sync_api import expect

    _, infos = synthetic_index
    ids = [r.record_id for r in infos]
    assert all(i.startswith("mimic_iv_ecg/") for i in ids)
    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    page.goto(synthetic_app)
    table, summary = page.locator("#browse-table"), page.locator("#browse-summary")

    def shown(record_id: str):
        return table.get_by_text(record_id, exact=True).locator("visible=true")

    shown(ids[0]).first.wait_for(timeout=60_000)
    pages = math.ceil(N_RECORDS / PAGE)
    expect(summary).to_contain_text(f"Records 1–{PAGE} of {N_RECORDS} · page 1 of {pages}", timeout=30_000)
    assert shown(ids[PAGE]).count() == 0  # the next page has not reached the browser
    page.locator("#browse-next").click()
    expect(summary).to_contain_text(f"Records {PAGE + 1}–{2 * PAGE} of {N_RECORDS} · page 2", timeout=30_000)
    shown(ids[PAGE]).first.wait_for(timeout=30_000)
    assert shown(ids[0]).count() == 0
    page.locator("#browse-prev").click()
    expect(summary).to_contain_text(f"Records 1–{PAGE} of {N_RECORDS} · page 1", timeout=30_000)
    shown(ids[0]).first.wait_for(timeout=30_000)

    # Report text search: the count and the first page are the records whose report says the phrase.
    phrase = "atrial fibrillation"
    hits = [r for r in infos if _matches(r, phrase)]
    assert 0 < len(hits) < N_RECORDS
    first_miss = next(r for r in infos if not _matches(r, phrase))
    search = page.locator("#browse-search textarea, #browse-search input").first
    search.fill(phrase)
    search.press("Enter")
    expect(summary).to_contain_text(f"of {len(hits)} · page 1", timeout=30_000)
    shown(hits[0].record_id).first.wait_for(timeout=30_000)
    assert shown(first_miss.record_id).count() == 0

    # A row of the search opens its ECG: the current-ECG box and the details follow, with its report.
    shown(hits[0].record_id).first.click()
    expect(page.locator(KEY_BOX).first).to_have_value(hits[0].record_id, timeout=30_000)
    details = page.locator("#viewer-details")
    expect(details).to_contain_text(hits[0].record_id, timeout=30_000)
    expect(details).to_contain_text("fibrillation", ignore_case=True, timeout=30_000)
    page.locator("#viewer-plot .js-plotly-plot .scatterlayer path.js-line").first.wait_for(timeout=30_000)
