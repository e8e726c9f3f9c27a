"""Who is making a request, and what their role lets them do. Pure Python: the app resolves the user from the request
(a signed cookie, or the Hugging Face OAuth session) and asks this module; nothing here imports Gradio.

Roles, from least to most:

- ``viewer``: reads everything (records, history, queue, agreement, exports); writes nothing.
- ``annotator``: also saves reviews and undoes their own changes.
- ``admin`` (alias ``adjudicator``): also adjudicates, imports (keeping the file's reviewers and times) and undoes
  anyone's change.

Where the users come from (:meth:`AccessPolicy.from_env`):

- ``huggingface``: on a Space (``SPACE_ID`` is set) users sign in with Hugging Face; ``ECG_ROLES`` maps usernames
  to roles (``"admin:alice;annotator:bob,carol"``; ``*`` stands for any signed-in user). The Space's owner
  (``SPACE_AUTHOR_NAME``) is an admin unless ``ECG_ROLES`` names them. Anyone else, and every visitor who is not
  signed in, is a viewer: a Space with no configuration lets nobody but its owner write.
- ``accounts``: ``ECG_ACCOUNTS_FILE`` names a JSON file of local accounts (scrypt password hashes and roles, written
  by ``python -m core annotations add-user``); visitors who are not signed in are viewers.
- ``local`` (neither of the above): one local user, ``ECG_LOCAL_USER`` (default ``local``), who is an admin — but only
  for requests from this machine (a loopback address); requests from elsewhere are anonymous viewers. Refused on a
  Space.

``ECG_AUTH=huggingface|accounts|local`` chooses explicitly.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from core.annotations.errors import AnnotationError, PermissionDeniedError

VIEWER, ANNOTATOR, ADMIN = "viewer", "annotator", "admin"
ROLES: tuple[str, ...] = (VIEWER, ANNOTATOR, ADMIN)
ROLE_ALIASES = {"adjudicator": ADMIN}
# The least role each write needs. "undo_any": undo a change made by someone else.
REQUIRED_ROLE = {"annotate": ANNOTATOR, "undo": ANNOTATOR, "undo_any": ADMIN, "adjudicate": ADMIN, "import": ADMIN}
# What each write is called in a refusal ("sign in to <verb>").
ACTION_WORDS = {
    "annotate": "save annotations",
    "undo": "undo changes",
    "undo_any": "undo another reviewer's change",
    "adjudicate": "adjudicate",
    "import": "import annotations",
}
MODES = ("huggingface", "accounts", "local")
ANY_SIGNED_IN = "*"
# Account names: what a URL, a CSV cell and a terminal show as they are (no spaces, no markup).
_USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
# scrypt cost: 2**14 x 8 x 1 uses 16 MiB and ~50 ms per check (the parameters OWASP lists for scrypt).
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
_HASH_PREFIX = "scrypt"


class AccessConfigError(AnnotationError):
    """The sign-in configuration is unusable (bad role map, unreadable accounts file, local mode on a Space)."""


def normalize_role(role: str) -> str:
    """``role`` in :data:`ROLES` (aliases resolved); :class:`AccessConfigError` otherwise."""
    value = ROLE_ALIASES.get(str(role).strip().lower(), str(role).strip().lower())
    if value not in ROLES:
        raise AccessConfigError(f"unknown role {role!r}; use one of {', '.join(ROLES)} (or adjudicator = admin)")
    return value


def check_username(name: str) -> str:
    """An account name: letters / digits first, then letters, digits and . _ @ - (up to 64)."""
    name = (name or "").strip()
    if not _USERNAME.fullmatch(name):
        raise AccessConfigError(
            f"{name[:40]!r} is not a valid user name: use letters, digits and . _ @ - (up to 64, letter or digit first)"
        )
    return name


@dataclass(frozen=True)
class Identity:
    """Who makes a request.

    Attributes:
        user: the user name written into events; ``None`` for an anonymous visitor.
        role: one of :data:`ROLES`.
        source: how they were identified: ``anonymous``, ``local``, ``account`` or ``huggingface``.
    """

    user: str | None
    role: str = VIEWER
    source: str = "anonymous"

    @property
    def signed_in(self) -> bool:
        return self.user is not None

    def can(self, action: str) -> bool:
        """Whether the role allows ``action`` (a key of :data:`REQUIRED_ROLE`)."""
        return ROLES.index(self.role) >= ROLES.index(REQUIRED_ROLE[action])

    def require(self, action: str) -> str:
        """The user name to write under, or :class:`PermissionDeniedError` saying what is missing."""
        if self.can(action):
            return str(self.user)
        words, needed = ACTION_WORDS[action], REQUIRED_ROLE[action]
        if not self.signed_in:
            raise PermissionDeniedError(f"sign in to {words}: visitors who are not signed in can only view")
        raise PermissionDeniedError(
            f"{self.user} has the {self.role} role: to {words} you need the {needed} role (ask an admin)"
        )

    def describe(self) -> str:
        """One line for the page: who, and what they can do."""
        if not self.signed_in:
            return "not signed in: you can view, not write"
        can = {VIEWER: "can view", ANNOTATOR: "can review", ADMIN: "can review, adjudicate and import"}[self.role]
        return f"{self.user} ({self.role}: {can})"


ANONYMOUS = Identity(None)


# ---- passwords ------------------------------------------------------------------------------------------------------
def hash_password(password: str) -> str:
    """A salted scrypt hash (``scrypt$n$r$p$salt$hash``, base64) of ``password`` for the accounts file."""
    if len(password) < 8:
        raise AccessConfigError("the password is too short: use at least 8 characters")
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P)
    b64 = base64.b64encode
    return f"{_HASH_PREFIX}${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches a :func:`hash_password` hash (constant-time comparison)."""
    try:
        prefix, n, r, p, salt, digest = stored.split("$")
        if prefix != _HASH_PREFIX:
            return False
        expected = base64.b64decode(digest)
        got = hashlib.scrypt(
            password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=len(expected)
        )
    except ValueError:  # a malformed hash (wrong field count, bad base64 or numbers) matches nothing
        return False
    return hmac.compare_digest(got, expected)


# A hash checked when the user name is unknown, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = f"{_HASH_PREFIX}${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${'A' * 22}==${'A' * 43}="


# ---- the accounts file ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Account:
    """A local account: its role and scrypt password hash."""

    user: str
    role: str
    password_hash: str


def load_accounts(path: str | Path) -> dict[str, Account]:
    """user -> account, from a JSON file ``{"users": {"ana": {"role": "annotator", "password": "scrypt$..."}}}``."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise AccessConfigError(
            f"the accounts file {path.name} does not exist: add a user first (python -m core annotations add-user)"
        ) from exc
    except json.JSONDecodeError as exc:
        raise AccessConfigError(f"the accounts file {path.name} is not valid JSON (line {exc.lineno})") from exc
    users = data.get("users") if isinstance(data, dict) else None
    if not isinstance(users, dict):
        raise AccessConfigError(f'the accounts file {path.name} has no "users" object')
    out = {}
    for user, entry in users.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("password"), str):
            raise AccessConfigError(f'the accounts file {path.name}: user {user!r} has no "password" hash')
        out[check_username(user)] = Account(user, normalize_role(entry.get("role", VIEWER)), entry["password"])
    return out


def add_account(path: str | Path, user: str, password: str, role: str = ANNOTATOR) -> Account:
    """Add a user to the accounts file (or replace their password and role); written atomically, mode 0600."""
    path = Path(path)
    user, role = check_username(user), normalize_role(role)
    accounts = load_accounts(path) if path.exists() else {}
    accounts[user] = Account(user, role, hash_password(password))
    users = {a.user: {"role": a.role, "password": a.password_hash} for a in accounts.values()}
    data = {"users": dict(sorted(users.items()))}
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as f:  # mkstemp creates it 0600: the hashes are not for everyone
        json.dump(data, f, indent=2)
        f.write("\n")
    os.replace(tmp, path)
    return accounts[user]


def authenticate(path: str | Path, user: str, password: str) -> Account | None:
    """The account when ``user`` / ``password`` match, else ``None`` (an unknown user takes as long to refuse)."""
    account = load_accounts(path).get((user or "").strip())
    ok = verify_password(password or "", account.password_hash if account else _DUMMY_HASH)
    return account if (ok and account is not None) else None


# ---- the policy -----------------------------------------------------------------------------------------------------
def parse_role_map(text: str) -> dict[str, str]:
    """``"admin:alice;annotator:bob,carol,*"`` -> {"alice": "admin", "bob": "annotator", ...}.

    ``*`` stands for any signed-in user; a user named under several roles gets the highest.
    """
    out: dict[str, str] = {}
    for part in (text or "").replace("\n", ";").split(";"):
        if not part.strip():
            continue
        role, sep, names = part.partition(":")
        if not sep:
            raise AccessConfigError(f"ECG_ROLES: {part.strip()!r} is not role:user,user (e.g. admin:alice)")
        role = normalize_role(role)
        for name in names.split(","):
            name = name.strip()
            if not name:
                continue
            name = name if name == ANY_SIGNED_IN else check_username(name)
            if name not in out or ROLES.index(role) > ROLES.index(out[name]):
                out[name] = role
    return out


def is_loopback(host: str | None) -> bool:
    """Whether a client address is this machine (127.0.0.0/8, ::1)."""
    host = (host or "").strip().lower()
    return host == "::1" or host == "localhost" or host.startswith("127.")


@dataclass(frozen=True)
class AccessPolicy:
    """How users are identified and which role each one has (see the module docstring).

    Attributes:
        mode: ``huggingface``, ``accounts`` or ``local``.
        roles: Hugging Face username -> role (``*``: any signed-in user), for ``huggingface``.
        accounts_file: the local accounts, for ``accounts``.
        local_user: the single local user's name, for ``local``.
    """

    mode: str = "local"
    roles: Mapping[str, str] = field(default_factory=dict)
    accounts_file: Path | None = None
    local_user: str = "local"

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise AccessConfigError(f"ECG_AUTH must be one of {', '.join(MODES)}, not {self.mode!r}")
        if self.mode == "accounts" and self.accounts_file is None:
            raise AccessConfigError("accounts sign-in needs ECG_ACCOUNTS_FILE (create it with `annotations add-user`)")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> AccessPolicy:
        """The policy the environment describes (``ECG_AUTH``, ``ECG_ROLES``, ``ECG_ACCOUNTS_FILE``,
        ``ECG_LOCAL_USER``, and on Spaces ``SPACE_ID`` / ``SPACE_AUTHOR_NAME``)."""
        env = os.environ if env is None else env
        on_space = bool(env.get("SPACE_ID"))
        accounts = env.get("ECG_ACCOUNTS_FILE") or None
        mode = (env.get("ECG_AUTH") or "").strip().lower() or (
            "huggingface" if on_space else "accounts" if accounts else "local"
        )
        if mode == "local" and on_space:
            raise AccessConfigError("ECG_AUTH=local is refused on a Space: anyone could write; use huggingface")
        roles = parse_role_map(env.get("ECG_ROLES", ""))
        owner = (env.get("SPACE_AUTHOR_NAME") or "").strip()
        if mode == "huggingface" and owner and owner not in roles:
            roles[owner] = ADMIN
        return cls(
            mode=mode,
            roles=roles,
            accounts_file=Path(accounts).expanduser() if accounts else None,
            local_user=check_username(env.get("ECG_LOCAL_USER") or "local"),
        )

    def identify(self, user: str | None, *, client_host: str | None = None) -> Identity:
        """The identity of a request.

        Args:
            user: the signed-in user as the app verified it (Hugging Face username from the OAuth session, or the
                account name from the signed cookie); ``None`` when not signed in.
            client_host: the client's address (the ``local`` mode trusts loopback clients only).
        """
        if self.mode == "local":
            return Identity(self.local_user, ADMIN, "local") if is_loopback(client_host) else ANONYMOUS
        if not user:
            return ANONYMOUS
        if self.mode == "accounts":
            account = load_accounts(self.accounts_file).get(user)  # re-read: a removed user loses access at once
            return Identity(account.user, account.role, "account") if account else ANONYMOUS
        role = self.roles.get(user) or self.roles.get(ANY_SIGNED_IN) or VIEWER
        return Identity(user, role, "huggingface")
