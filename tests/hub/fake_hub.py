"""A minimal Hugging Face Hub over loopback HTTP, for tests: just the routes huggingface_hub's client calls.

The client is the real one (``snapshot_download``, ``hf_hub_download``, ``HfApi.create_repo`` / ``upload_folder``);
only its endpoint points here. Routes (repo type prefix ``datasets/`` where it applies):

- ``POST /api/repos/create``                                   create_repo
- ``GET  /api/{models|datasets}/{org}/{name}/revision/{rev}``  repo_info (commit sha + file list)
- ``GET  /api/{models|datasets}/{org}/{name}/tree/{rev}``      list_repo_tree (recursive)
- ``HEAD|GET /[datasets/]{org}/{name}/resolve/{rev}/{path}``   file metadata (X-Repo-Commit, ETag) and content
- ``POST /api/{models|datasets}/{org}/{name}/preupload/{rev}`` every file uploads as "regular" (no LFS / Xet)
- ``POST /api/{models|datasets}/{org}/{name}/commit/{rev}``    NDJSON commit of base64 files
- ``POST /api/validate-yaml``                                  upload_folder sends README.md here first; this fake
  only checks that the YAML block parses (the Hub's own schema check is not reproduced) and keeps what it was sent

Every request is recorded in :attr:`FakeHub.requests` as ``(method, path)``, so a test can tell that nothing was
asked of the server (offline mode) or that a file really came over HTTP.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import yaml

_API = re.compile(r"^/api/(models|datasets)/([^/]+/[^/]+)/(revision|tree|preupload|commit)/([^/]+)(?:/(.*))?$")
_RESOLVE = re.compile(r"^/(datasets/)?([^/]+/[^/]+)/resolve/([^/]+)/(.+)$")


def git_blob_oid(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass
class Repo:
    refs: dict[str, str] = field(default_factory=dict)  # branch -> commit sha
    commits: dict[str, dict[str, bytes]] = field(default_factory=dict)  # commit sha -> path -> content

    def resolve(self, revision: str) -> str | None:
        revision = urllib.parse.unquote(revision)
        if revision in self.refs:
            return self.refs[revision]
        return revision if revision in self.commits else None


class FakeHub:
    """The server's state and its thread; ``url`` is the endpoint to give huggingface_hub."""

    def __init__(self) -> None:
        self.repos: dict[tuple[str, str], Repo] = {}
        self.requests: list[tuple[str, str]] = []
        self.validated: list[str] = []  # README.md texts sent to /api/validate-yaml
        self._lock = threading.Lock()
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet test output
                pass

            def do_HEAD(self) -> None:
                hub._handle(self, "HEAD")

            def do_GET(self) -> None:
                hub._handle(self, "GET")

            def do_POST(self) -> None:
                hub._handle(self, "POST")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeHub:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    # ---- state -----------------------------------------------------------------------------------------------------
    def commit(self, repo_type: str, repo_id: str, files: dict[str, bytes], branch: str = "main") -> str:
        """Add a commit on ``branch`` holding the parent's files updated with ``files``; returns its sha."""
        with self._lock:
            repo = self.repos.setdefault((repo_type, repo_id), Repo())
            parent = repo.commits.get(repo.refs.get(branch, ""), {})
            tree = {**parent, **files}
            sha = hashlib.sha1(json.dumps([repo_id, len(repo.commits), sorted(tree)]).encode()).hexdigest()
            repo.commits[sha] = tree
            repo.refs[branch] = sha
            return sha

    def tamper(self, repo_type: str, repo_id: str, path: str, content: bytes, branch: str = "main") -> str:
        """A new commit with one file's content replaced (its manifest left as it was)."""
        return self.commit(repo_type, repo_id, {path: content}, branch)

    # ---- HTTP ------------------------------------------------------------------------------------------------------
    def _handle(self, request: BaseHTTPRequestHandler, method: str) -> None:
        path = urllib.parse.urlsplit(request.path).path
        self.requests.append((method, path))
        body = b""
        if method == "POST":
            body = request.rfile.read(int(request.headers.get("Content-Length") or 0))
        if method == "POST" and path == "/api/repos/create":
            return self._create(request, json.loads(body))
        if method == "POST" and path == "/api/validate-yaml":
            return self._validate(request, json.loads(body)["content"])
        if match := _API.match(path):
            kind, repo_id, action, revision, rest = match.groups()
            repo_type = kind[:-1]
            repo = self.repos.get((repo_type, repo_id))
            if repo is None:
                return _send(request, 404, {"error": "Repository not found"}, {"X-Error-Code": "RepoNotFound"})
            if action == "preupload":
                files = json.loads(body)["files"]
                modes = [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False} for f in files]
                return _send(request, 200, {"files": modes})
            if action == "commit":
                return self._commit(request, repo_type, repo_id, urllib.parse.unquote(revision), body)
            sha = repo.resolve(revision)
            if sha is None:
                return _send(request, 404, {"error": "Revision not found"}, {"X-Error-Code": "RevisionNotFound"})
            tree = repo.commits[sha]
            if action == "revision":
                info = {"id": repo_id, "sha": sha, "private": False, "siblings": [{"rfilename": p} for p in tree]}
                return _send(request, 200, info)
            entries = [{"type": "file", "path": p, "size": len(c), "oid": git_blob_oid(c)} for p, c in tree.items()]
            return _send(request, 200, entries)
        if match := _RESOLVE.match(path):
            dataset, repo_id, revision, file = match.groups()
            repo = self.repos.get(("dataset" if dataset else "model", repo_id))
            sha = repo.resolve(revision) if repo else None
            content = repo.commits[sha].get(urllib.parse.unquote(file)) if sha else None
            if content is None:
                return _send(request, 404, {"error": "Entry not found"}, {"X-Error-Code": "EntryNotFound"})
            headers = {"X-Repo-Commit": sha, "ETag": f'"{git_blob_oid(content)}"'}
            return _send(request, 200, content, headers)
        return _send(request, 404, {"error": f"no route {method} {path}"})

    def _create(self, request: BaseHTTPRequestHandler, payload: dict) -> None:
        repo_type = payload.get("type") or "model"
        repo_id = f"{payload['organization']}/{payload['name']}" if payload.get("organization") else payload["name"]
        prefix = "" if repo_type == "model" else f"{repo_type}s/"
        if (repo_type, repo_id) in self.repos:
            url = f"{self.url}/{prefix}{repo_id}"
            return _send(request, 409, {"error": "You already created this repo", "url": url})
        self.commit(repo_type, repo_id, {".gitattributes": b""})
        return _send(request, 200, {"url": f"{self.url}/{prefix}{repo_id}", "name": repo_id})

    def _validate(self, request: BaseHTTPRequestHandler, content: str) -> None:
        self.validated.append(content)
        head, sep, _ = content.removeprefix("---\n").partition("\n---\n")
        try:
            yaml.safe_load(head if sep else "")
        except yaml.YAMLError as err:
            return _send(request, 400, {"errors": [{"message": str(err)}]})
        return _send(request, 200, {"errors": [], "warnings": []})

    def _commit(self, request: BaseHTTPRequestHandler, repo_type: str, repo_id: str, branch: str, body: bytes) -> None:
        files: dict[str, bytes] = {}
        for line in body.decode().splitlines():
            item = json.loads(line)
            if item["key"] == "file":
                files[item["value"]["path"]] = base64.b64decode(item["value"]["content"])
            elif item["key"] != "header":
                return _send(request, 400, {"error": f"unsupported commit operation {item['key']}"})
        sha = self.commit(repo_type, repo_id, files, branch)
        prefix = "" if repo_type == "model" else f"{repo_type}s/"
        return _send(request, 200, {"commitUrl": f"{self.url}/{prefix}{repo_id}/commit/{sha}", "commitOid": sha})


def _send(request, status: int, payload, headers: dict | None = None) -> None:
    data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    request.send_response(status)
    kind = "application/octet-stream" if isinstance(payload, bytes) else "application/json"
    request.send_header("Content-Type", kind)
    request.send_header("Content-Length", str(len(data)))
    for key, value in (headers or {}).items():
        request.send_header(key, value)
    request.end_headers()
    if request.command != "HEAD":  # a HEAD answer has headers only, or the kept-alive connection is corrupted
        request.wfile.write(data)
