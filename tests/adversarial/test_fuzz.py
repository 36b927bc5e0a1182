"""A schema-driven fuzz: every route of `/schema/openapi.json`, signed as a normal user, with
bodies generated from the schema and then broken (wrong types, missing fields, huge strings,
deep nesting, not JSON at all), hostile path and query parameters. No answer is a 500.

schemathesis is not a dependency of the project; this small fuzzer walks the published
schema itself (a test of the schema's accuracy too: every route it lists must exist)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

from tests.adversarial.helpers import TUS, send, upload
from tests.conftest import InProcessNode

USER = "fuzz@example.com"
DEEP = "__DEEP__"  # replaced by a value nested 50,000 deep once encoded

# Per property: what a field must never choke on.
WRONG: list[Any] = [None, -1, 2**64, "", "x" * 65_536, [], {}, True, "\udcff", DEEP]
# Whole bodies that are not what any route takes.
BODIES: list[bytes] = [
    b"",
    b"{",
    b"null",
    b"[]",
    b'"x"',
    b"123",
    b"\xff\xfe",
    b"[" * 50_000 + b"]" * 50_000,
    json.dumps({"x": "a" * 1_000_000}).encode(),
]
PATH_VALUES = ["..", "%2E%2E", "%00", "x" * 300, "\u202e", "%ff", str(uuid.uuid4())]
QUERY_VALUES = ["", "x" * 10_000, "%00", "%ff", "\u202e", "-1", "true", "[]"]
# Valid values that keep the fuzzing user's folder in place (no rename, no moves).
VALID = {
    "name": "fz-new",
    "new_name": "fz",
    "target_name": "fz-clone",
    "email": "fuzz-made@example.com",
    "path": "d",
    "src": "a.txt",
    "dst": "a.txt",
    "target_path": "a.txt",
    "files": ["nothing-here"],
    "query": "query { vfolder_list { items { name } } }",
}


@dataclass
class Case:
    method: str
    path: str
    query: str = ""
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def label(self) -> str:
        body = "" if self.body is None else f" body={self.body[:80]!r}"
        return f"{self.method} {self.path}{self.query[:60]}{body}"


class Schema:
    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc

    def resolve(self, s: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in s:
            s = self.doc["components"]["schemas"][s["$ref"].rsplit("/", 1)[1]]
        for key in ("oneOf", "anyOf"):
            if key in s:
                choices = [self.resolve(c) for c in s[key]]
                real = [c for c in choices if c.get("type") != "null"]
                merged = dict(real[0] if real else choices[0])
                if "enum" in s:
                    merged["enum"] = s["enum"]
                return merged
        return s

    def valid(self, s: dict[str, Any], key: str = "") -> Any:
        s = self.resolve(s)
        if key in VALID:
            return VALID[key]
        if "enum" in s:
            return s["enum"][0]
        kind = s.get("type")
        if kind == "string":
            return str(uuid.uuid4()) if s.get("format") == "uuid" else "x"
        if kind == "integer":
            return 1
        if kind == "number":
            return 1.5
        if kind == "boolean":
            return True
        if kind == "array":
            return [self.valid(s.get("items", {}))]
        if kind == "object" or "properties" in s:
            return {k: self.valid(v, k) for k, v in s.get("properties", {}).items()}
        return "x"


def encode(body: Any) -> bytes:
    text = json.dumps(body)  # escapes lone surrogates, as JSON allows
    return text.replace(json.dumps(DEEP), "[" * 50_000 + "]" * 50_000).encode()


def fill(template: str, values: dict[str, str]) -> str:
    out = template
    for k, v in values.items():
        out = out.replace("{" + k + "}", v)
    return out


def cases(schema: Schema, path: str, method: str, op: dict[str, Any], ak: str) -> Iterator[Case]:
    m = method.upper()
    params = op.get("parameters", [])
    defaults = {"name": "fz", "task_id": str(uuid.uuid4()), "host": "local", "ident": USER}
    defaults |= {"kind": "user", "access_key": ak}
    path_params = {p["name"]: defaults.get(p["name"], "x") for p in params if p["in"] == "path"}
    queries = [p for p in params if p["in"] == "query"]
    base = fill(path, path_params)
    headers = TUS if path == "/upload" else {}
    yield Case(m, base, headers=dict(headers))
    for name in path_params:
        for value in PATH_VALUES:
            yield Case(m, fill(path, {**path_params, name: value}))
    for q in queries:
        for value in QUERY_VALUES:
            yield Case(m, base, f"?{q['name']}={quote(value, safe='%')}", headers=dict(headers))
    content = op.get("requestBody", {}).get("content", {}).get("application/json")
    if not content:
        return
    body_schema = schema.resolve(content["schema"])
    valid = schema.valid(body_schema)
    yield Case(m, base, body=encode(valid))
    if isinstance(valid, dict):
        for key in valid:
            for wrong in WRONG:
                yield Case(m, base, body=encode({**valid, key: wrong}))
            yield Case(m, base, body=encode({k: v for k, v in valid.items() if k != key}))
        yield Case(m, base, body=encode({**valid, "unexpected": {"a": [1, {"b": None}]}}))
    for raw in BODIES:
        yield Case(m, base, body=raw)


def order(item: tuple[str, str, dict[str, Any]]) -> tuple[int, str]:
    """Reads first, then writes; whatever trashes or deletes folders last."""
    path, method, _ = item
    rank = {"get": 0, "head": 0, "post": 1, "put": 1, "patch": 1, "delete": 2}[method]
    if any(w in path for w in ("delete", "purge", "trash", "deactivate", "revoke")):
        rank = 3
    return rank, path


async def test_schema_fuzz_finds_no_500(node: InProcessNode) -> None:
    """Defect 5: a fuzz of every route in the OpenAPI schema, signed as a normal user —
    generated bodies with wrong types, missing fields, huge strings, deep nesting, bodies
    that are not JSON, hostile path and query parameters: no 5xx anywhere but an honest 503
    (and no traceback in the node's log, which the fixture checks)."""
    r = await node.http.get("/schema/openapi.json")
    assert r.status_code == 200 and "paths" in r.json(), (
        f"the schema: {r.status_code} {r.text[:300]}"
    )
    doc = r.json()
    user = await node.new_user(USER)
    await user.post("/folders", json={"name": "fz", "cloneable": True})
    await upload(user, "fz", "a.txt", b"a")
    await user.post("/folders/fz/mkdir", json={"path": "d"})
    schema = Schema(doc)
    ops = [
        (path, method, op)
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if method in ("get", "head", "post", "put", "patch", "delete")
    ]
    assert len(ops) > 40, "the schema lists every route"
    failures: list[str] = []
    sent = 0
    for path, method, op in sorted(ops, key=order):
        for case in cases(schema, path, method, op, user.config.access_key):
            sent += 1
            try:
                r = await send(
                    user,
                    case.method,
                    case.path + case.query,
                    content=case.body,
                    headers=case.headers,
                )
            except httpx.HTTPError as e:
                failures.append(f"{case.label()} -> {type(e).__name__}: {e}")
                continue
            except Exception as e:  # the in-process transport re-raises what the app raised
                failures.append(f"{case.label()} -> raised {type(e).__name__}: {e}"[:300])
                continue
            # 503 is an honest "that service is not running here" (SFTP in-process).
            if r.status_code >= 500 and r.status_code != 503:
                failures.append(f"{case.label()} -> {r.status_code} {r.text[:120]}")
    assert not failures, f"{len(failures)} of {sent} requests failed:\n" + "\n".join(failures[:30])
    assert (await send(user, "GET", "/folders")).status_code == 200
