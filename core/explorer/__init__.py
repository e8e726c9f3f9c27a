"""The explorer: demo data -> embeddings -> FAISS indexes + map (cached per checkpoint and data), and the query service.

- :mod:`core.explorer.store`: the indexed data of one (checkpoint, data spec) and its cache folder.
- :mod:`core.explorer.build`: acquire + embed + index + map, with a progress callback.
- :mod:`core.explorer.browse`: Browse's server-side filtering, text search and paging.
- :mod:`core.explorer.service`: the query service, one call per user action, owner of every cache.
- :mod:`core.explorer.cli`: ``python -m core build-index``.
"""

from core.explorer.browse import PAGE_SIZE, BrowseIndex, BrowsePage
from core.explorer.build import acquire, build_explorer, shipped_prompt_texts
from core.explorer.cli import add_arguments, run
from core.explorer.errors import InvalidRequestError, NoDataError, RecordNotFoundError
from core.explorer.service import (
    ALL,
    COLOR_CHOICES,
    UPLOAD_PREFIX,
    Analysis,
    Explanation,
    MapView,
    Neighbour,
    OpenedRecord,
    QueryService,
    RecordFilters,
    ServiceConfig,
    Status,
    TextSearch,
    Upload,
    ZeroShot,
)
from core.explorer.store import DemoSpec, Explorer, RecordInfo, ReportMatch, TextMatches, cache_folder, cache_key

__all__ = [
    "ALL",
    "COLOR_CHOICES",
    "UPLOAD_PREFIX",
    "PAGE_SIZE",
    "Analysis",
    "BrowseIndex",
    "BrowsePage",
    "DemoSpec",
    "Explanation",
    "Explorer",
    "InvalidRequestError",
    "MapView",
    "Neighbour",
    "NoDataError",
    "OpenedRecord",
    "QueryService",
    "RecordFilters",
    "RecordInfo",
    "RecordNotFoundError",
    "ReportMatch",
    "ServiceConfig",
    "Status",
    "TextMatches",
    "TextSearch",
    "Upload",
    "ZeroShot",
    "acquire",
    "add_arguments",
    "build_explorer",
    "cache_folder",
    "cache_key",
    "run",
    "shipped_prompt_texts",
]
