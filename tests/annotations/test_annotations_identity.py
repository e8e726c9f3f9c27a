"""Identity and roles: password hashes, the accounts file and its CLI, the role map, and the three sign-in modes."""

from __future__ import annotations

import argparse
import io
import json
import stat

import pytest

from core.annotations import cli
from core.annotations.errors import PermissionDeniedError, UndoError
from core.annotations.identity import (
    ADMIN,
    ANNOTATOR,
    ANONYMOUS,
    VIEWER,
    AccessConfigError,
    AccessPolicy,
    Identity,
    add_account,
    authenticate,
    hash_password,
    load_accounts,
    parse_role_map,
    verify_password,
)


def test_password_hashes_are_salted_scrypt_and_verify():
    first, second = hash_password("correct horse"), hash_password("correct horse")
    assert first.startswith("scrypt$16384$8$1$") and first != second  # a fresh salt each time
    assert verify_password("correct horse", first) and verify_password("correct horse", second)
    assert not verify_password("correct hors", first)
    assert not verify_password("correct horse", "scrypt$not$a$hash")  # malformed: matches nothing
    assert not verify_password("correct horse", "md5$x$y$z$a$b")
    with pytest.raises(AccessConfigError, match="at least 8 characters"):
        hash_password("short")


def test_accounts_file_add_replace_and_authenticate(tmp_path):
    path = tmp_path / "team" / "accounts.json"
    add_account(path, "ana", "ana-password", "annotator")
    add_account(path, "dee", "dee-password", "adjudicator")  # alias of admin
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    data = json.loads(path.read_text())
    assert set(data["users"]) == {"ana", "dee"} and "ana-password" not in path.read_text()
    assert {a.user: a.role for a in load_accounts(path).values()} == {"ana": ANNOTATOR, "dee": ADMIN}
    assert authenticate(path, "ana", "ana-password").role == ANNOTATOR
    assert authenticate(path, "ana", "dee-password") is None
    assert authenticate(path, "nobody", "ana-password") is None
    add_account(path, "ana", "new-password", "viewer")  # replaces password and role
    assert authenticate(path, "ana", "ana-password") is None
    assert authenticate(path, "ana", "new-password").role == VIEWER
    for bad in ("", "ana smith", "<b>x</b>", "-lead"):
        with pytest.raises(AccessConfigError, match="not a valid user name"):
            add_account(path, bad, "long-enough", "annotator")
    with pytest.raises(AccessConfigError, match="unknown role 'owner'"):
        add_account(path, "eve", "long-enough", "owner")


def test_broken_accounts_files_are_refused_by_name(tmp_path):
    path = tmp_path / "accounts.json"
    with pytest.raises(AccessConfigError, match="accounts.json does not exist"):
        load_accounts(path)
    path.write_text("{not json")
    with pytest.raises(AccessConfigError, match="not valid JSON"):
        load_accounts(path)
    path.write_text(json.dumps({"users": {"ana": {"role": "annotator"}}}))
    with pytest.raises(AccessConfigError, match='has no "password" hash'):
        load_accounts(path)


def test_add_user_cli_reads_the_password_from_stdin(tmp_path, monkeypatch, capsys):
    path = tmp_path / "accounts.json"
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    monkeypatch.setattr("sys.stdin", io.StringIO("a-long-password\n"))
    args = parser.parse_args(["add-user", "bo", "--role", "admin", "--accounts", str(path), "--password-stdin"])
    assert cli.run(args) == 0
    assert "bo (admin) written to" in capsys.readouterr().out
    assert authenticate(path, "bo", "a-long-password").role == ADMIN
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    args = parser.parse_args(["add-user", "cy", "--accounts", str(path), "--password-stdin"])
    assert cli.run(args) == 1 and "too short" in capsys.readouterr().out
    monkeypatch.delenv("ECG_ACCOUNTS_FILE", raising=False)
    assert cli.run(parser.parse_args(["add-user", "cy", "--password-stdin"])) == 2


def test_roles_allow_and_refuse_with_a_message():
    ana, dee, vic = Identity("ana", ANNOTATOR, "account"), Identity("dee", ADMIN, "account"), Identity("vic")
    assert ana.require("annotate") == "ana" and dee.require("adjudicate") == "dee" and dee.require("import") == "dee"
    with pytest.raises(
        PermissionDeniedError, match="ana has the annotator role: to adjudicate you need the admin role"
    ):
        ana.require("adjudicate")
    with pytest.raises(PermissionDeniedError, match="to import annotations you need the admin role"):
        ana.require("import")
    with pytest.raises(PermissionDeniedError, match="vic has the viewer role: to save annotations"):
        vic.require("annotate")
    with pytest.raises(PermissionDeniedError, match="sign in to save annotations: visitors who are not signed in"):
        ANONYMOUS.require("annotate")
    assert not ana.can("undo_any") and dee.can("undo_any") and not ANONYMOUS.can("undo")


def test_role_map_parsing():
    roles = parse_role_map("admin:alice; annotator:bob, carol,*\nviewer:alice")
    assert roles == {"alice": ADMIN, "bob": ANNOTATOR, "carol": ANNOTATOR, "*": ANNOTATOR}  # highest role wins
    with pytest.raises(AccessConfigError, match="is not role:user"):
        parse_role_map("alice")
    with pytest.raises(AccessConfigError, match="unknown role"):
        parse_role_map("boss:alice")


def test_modes_from_the_environment(tmp_path):
    accounts = tmp_path / "accounts.json"
    add_account(accounts, "ana", "ana-password", "annotator")
    # No configuration: one local admin, for requests from this machine only.
    local = AccessPolicy.from_env({})
    assert local.mode == "local"
    assert local.identify(None, client_host="127.0.0.1") == Identity("local", ADMIN, "local")
    assert local.identify("ana", client_host="10.0.0.7") == ANONYMOUS
    assert AccessPolicy.from_env({"ECG_LOCAL_USER": "mia"}).identify(None, client_host="::1").user == "mia"
    # Accounts: the cookie's user keeps their file role; anyone else is a viewer, loopback or not.
    team = AccessPolicy.from_env({"ECG_ACCOUNTS_FILE": str(accounts)})
    assert team.mode == "accounts"
    assert team.identify("ana", client_host="127.0.0.1") == Identity("ana", ANNOTATOR, "account")
    assert team.identify(None, client_host="127.0.0.1") == ANONYMOUS
    assert team.identify("ghost") == ANONYMOUS  # not (or no longer) in the file
    # A Space: Hugging Face users; the owner is an admin, unmapped users and anonymous visitors are viewers.
    space = AccessPolicy.from_env({"SPACE_ID": "o/x", "SPACE_AUTHOR_NAME": "owner", "ECG_ROLES": "annotator:bob"})
    assert space.mode == "huggingface"
    assert space.identify("owner").role == ADMIN and space.identify("bob").role == ANNOTATOR
    assert space.identify("mallory").role == VIEWER and space.identify(None, client_host="127.0.0.1") == ANONYMOUS
    bare = AccessPolicy.from_env({"SPACE_ID": "o/x"})
    assert bare.identify(None, client_host="127.0.0.1") == ANONYMOUS and bare.identify("x").role == VIEWER
    anyone = AccessPolicy.from_env({"SPACE_ID": "o/x", "ECG_ROLES": "annotator:*"})
    assert anyone.identify("x").role == ANNOTATOR and not anyone.identify(None).signed_in
    with pytest.raises(AccessConfigError, match="refused on a Space"):
        AccessPolicy.from_env({"SPACE_ID": "o/x", "ECG_AUTH": "local"})
    with pytest.raises(AccessConfigError, match="needs ECG_ACCOUNTS_FILE"):
        AccessPolicy.from_env({"ECG_AUTH": "accounts"})


def test_annotators_undo_only_their_own_changes(store):
    mine = store.annotate("ptbxl/00001", reviewer="ana", labels=["MI"])
    theirs = store.annotate("ptbxl/00001", reviewer="bo", note="second look")
    n = store.count_events()
    with pytest.raises(PermissionDeniedError, match=f"change #{theirs.event_id} was made by bo"):
        store.undo(theirs.event_id, reviewer="ana", only_by="ana")
    assert store.count_events() == n  # refused before writing
    undo = store.undo_last("ptbxl/00001", reviewer="ana", only_by="ana")  # skips bo's later change
    assert undo.reverts == mine.event_id and store.get("ptbxl/00001").note == "second look"
    with pytest.raises(UndoError, match="no change made by ana left to undo"):
        store.undo_last("ptbxl/00001", reviewer="ana", only_by="ana")
    assert store.undo(theirs.event_id, reviewer="dee").reverts == theirs.event_id  # an admin's undo: anyone's
