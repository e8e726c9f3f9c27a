"""The app boundary (app/views/common.py): user-facing errors become one short gr.Error, anything else is a bug."""

from __future__ import annotations

import logging

import gradio as gr
import pytest

from app.views.common import GENERIC_FAILURE, user_errors
from core.annotations.errors import InvalidStatusError
from core.errors import ECGCorruptError
from core.explorer import RecordNotFoundError


def test_user_facing_errors_are_shown_without_server_paths():
    with pytest.raises(gr.Error) as info, user_errors():
        raise ECGCorruptError("/tmp/ecg-upload-x1/broken.hea", "the header lists 5000 samples, the file holds 10")
    assert info.value.message == "broken.hea: the header lists 5000 samples, the file holds 10"
    with pytest.raises(gr.Error) as info, user_errors():
        raise RecordNotFoundError("record 'ptbxl/99999' is not in the index")
    assert info.value.message == "record 'ptbxl/99999' is not in the index"
    with pytest.raises(gr.Error) as info, user_errors():
        raise InvalidStatusError("unknown status 'done'")
    assert info.value.message == "unknown status 'done'"


def test_other_errors_are_logged_with_their_traceback_and_shown_as_a_generic_failure(caplog):
    caplog.set_level(logging.ERROR)
    for bug in (KeyError("internal_key"), ValueError("/srv/secret/path: bad shape"), LookupError("x")):
        with pytest.raises(gr.Error) as info, user_errors():
            raise bug
        assert info.value.message == GENERIC_FAILURE.format(type(bug).__name__)
        assert "/srv" not in info.value.message
    assert caplog.records and all(r.exc_info for r in caplog.records)
    with pytest.raises(gr.Error) as info, user_errors():
        raise gr.Error("kept")
    assert info.value.message == "kept"
