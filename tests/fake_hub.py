"""A small Hugging Face Hub on 127.0.0.1 for push tests: the endpoints the real `huggingface_hub` client calls to
create a dataset repo, upload files (regular and git-LFS), commit, list and download — kept in memory.

Use with HF_ENDPOINT=<hub.url>, HF_HUB_DISABLE_XET=1 (this fake speaks git-LFS, not Xet) and HF_TOKEN set to one
of `tokens`; any other token gets 401.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlparse


class Repo:
    def __init__(self, private: bool) -> None:
        self.private = private
        self.files: dict[str, bytes] = {}
        self.commits: list[str] = [hashlib.sha1(b"init").hexdigest()]

    @property
    def sha(self) -> str:
        return self.commits[-1]


class FakeHub:
    def __init__(self, tokens: tuple[str, ...] = ("hf_test_token_write",)) -> None:
        self.tokens = set(tokens)
        self.repos: dict[str, Repo] = {}
        self.lfs: dict[str, bytes] = {}
        self.requests: list[str] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> FakeHub:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: Any = None, headers: dict[str, str] | None = None,
                      raw: bytes | None = None) -> None:
                data = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
                self.send_response(status)
                self.send_header("Content-Type", "application/json" if raw is None else "application/octet-stream")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            def _body(self) -> bytes:
                n = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(n) if n else b""

            def _authorized(self) -> bool:
                auth = self.headers.get("Authorization", "")
                if auth.removeprefix("Bearer ") in hub.tokens:
                    return True
                self._body()
                self._send(401, {"error": "Invalid credentials in Authorization header"},
                           {"X-Error-Code": "InvalidCredentials", "X-Error-Message": "Invalid credentials"})
                return False

            def do_HEAD(self) -> None:
                self.do_GET()

            def do_GET(self) -> None:
                hub.requests.append(f"{self.command} {self.path}")
                path = unquote(urlparse(self.path).path)
                if not self._authorized():
                    return
                if path == "/api/whoami-v2":
                    return self._send(200, {"type": "user", "name": "tester", "orgs": [],
                                            "auth": {"accessToken": {"displayName": "t", "role": "write"}}})
                m = re.match(r"^/api/datasets/([^/]+/[^/]+)(?:/revision/([^/]+))?$", path)
                if m:
                    repo = hub.repos.get(m.group(1))
                    if repo is None:
                        return self._send(404, {"error": "not found"}, {"X-Error-Code": "RepoNotFound"})
                    return self._send(200, {"id": m.group(1), "sha": repo.sha, "private": repo.private,
                                            "siblings": [{"rfilename": p} for p in sorted(repo.files)]})
                m = re.match(r"^/api/datasets/([^/]+/[^/]+)/tree/([^/]+)/?(.*)$", path)
                if m:
                    repo = hub.repos.get(m.group(1))
                    if repo is None:
                        return self._send(404, {"error": "not found"}, {"X-Error-Code": "RepoNotFound"})
                    prefix = m.group(3).strip("/")
                    recursive = "recursive=true" in self.path or "recursive=True" in self.path
                    return self._send(200, _tree(repo, prefix, recursive))
                m = re.match(r"^/datasets/([^/]+/[^/]+)/resolve/([^/]+)/(.+)$", path)
                if m:
                    repo = hub.repos.get(m.group(1))
                    data = repo.files.get(m.group(3)) if repo else None
                    if data is None:
                        return self._send(404, {"error": "entry not found"}, {"X-Error-Code": "EntryNotFound"})
                    etag = '"' + hashlib.sha1(data).hexdigest() + '"'
                    return self._send(200, raw=data, headers={"X-Repo-Commit": repo.sha, "ETag": etag})  # type: ignore[union-attr]
                self._send(404, {"error": f"no route {path}"})

            def do_PUT(self) -> None:
                hub.requests.append(f"PUT {self.path}")
                m = re.match(r"^/lfs-upload/([0-9a-f]{64})$", urlparse(self.path).path)
                body = self._body()
                if not m or hashlib.sha256(body).hexdigest() != m.group(1):
                    return self._send(400, {"error": "bad upload"})
                hub.lfs[m.group(1)] = body
                self._send(200, {})

            def do_POST(self) -> None:
                hub.requests.append(f"POST {self.path}")
                path = unquote(urlparse(self.path).path)
                if not self._authorized():
                    return
                body = self._body()
                if path == "/api/repos/create":
                    req = json.loads(body)
                    repo_id = f"{req.get('organization') or 'tester'}/{req['name']}"
                    if repo_id in hub.repos:
                        return self._send(409, {"error": "already exists", "url": f"{hub.url}/datasets/{repo_id}"})
                    hub.repos[repo_id] = Repo(bool(req.get("private")))
                    return self._send(200, {"url": f"{hub.url}/datasets/{repo_id}"})
                if path == "/api/validate-yaml":
                    return self._send(200, {"errors": [], "warnings": []})
                m = re.match(r"^/api/datasets/([^/]+/[^/]+)/preupload/([^/]+)$", path)
                if m:
                    files = json.loads(body)["files"]
                    return self._send(200, {"files": [
                        {"path": f["path"], "uploadMode": "lfs" if f["path"].endswith(".parquet") else "regular",
                         "shouldIgnore": False, "oid": None} for f in files]})
                m = re.match(r"^/datasets/([^/]+/[^/]+)\.git/info/lfs/objects/batch$", path)
                if m:
                    objs = json.loads(body)["objects"]
                    return self._send(200, {"transfer": "basic", "objects": [
                        {"oid": o["oid"], "size": o["size"],
                         "actions": {"upload": {"href": f"{hub.url}/lfs-upload/{o['oid']}"}}} for o in objs]})
                m = re.match(r"^/api/datasets/([^/]+/[^/]+)/commit/([^/]+)$", path)
                if m:
                    return self._commit(m.group(1), body)
                self._send(404, {"error": f"no route {path}"})

            def _commit(self, repo_id: str, body: bytes) -> None:
                repo = hub.repos.get(repo_id)
                if repo is None:
                    return self._send(404, {"error": "not found"}, {"X-Error-Code": "RepoNotFound"})
                for line in body.decode().splitlines():
                    if not line.strip():
                        continue
                    op = json.loads(line)
                    key, value = op["key"], op["value"]
                    if key == "header" and value.get("parentCommit") not in (None, repo.sha):
                        return self._send(412, {"error": "parent commit is not the head"})
                    if key == "file":
                        repo.files[value["path"]] = base64.b64decode(value["content"])
                    elif key == "lfsFile":
                        if value["oid"] not in hub.lfs:
                            return self._send(422, {"error": f"lfs object {value['oid']} was never uploaded"})
                        repo.files[value["path"]] = hub.lfs[value["oid"]]
                    elif key == "deletedFile":
                        repo.files.pop(value["path"], None)
                sha = hashlib.sha1((repo.sha + body.decode()).encode()).hexdigest()
                repo.commits.append(sha)
                self._send(200, {"commitOid": sha, "commitUrl": f"{hub.url}/datasets/{repo_id}/commit/{sha}"})

        return Handler


def _tree(repo: Repo, prefix: str, recursive: bool) -> list[dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for path, data in sorted(repo.files.items()):
        if prefix and not path.startswith(prefix + "/"):
            continue
        rest = path[len(prefix) + 1:] if prefix else path
        if "/" in rest and not recursive:
            folder = (prefix + "/" if prefix else "") + rest.split("/")[0]
            out[folder] = {"type": "directory", "path": folder, "oid": hashlib.sha1(folder.encode()).hexdigest()}
        else:
            out[path] = {"type": "file", "path": path, "size": len(data), "oid": hashlib.sha1(data).hexdigest()}
    return list(out.values())
