"""Provides the small GraphQL subset the official client's list commands send.

`backend.ai vfolder list` (and `list-own`, `list-invited`, `list-project`, `admin vfolder
list`, `admin storage list|info`) post one fixed query shape to `/admin/gql`. This module
answers exactly those shapes: the root field, its arguments, the requested item fields in the
requested order (the client prints columns by position), and Backend.AI's filter and order
mini-languages. Anything else is a GraphQL error, never a guess.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from bai.errors import InvalidRequest
from bai.folders.models import VFolder

FOLDER_ROOTS = ("vfolder_list", "vfolder_own_list", "vfolder_invited_list", "vfolder_project_list")
STORAGE_ROOTS = ("storage_volume_list", "storage_volume")

_ROOT_RE = re.compile(r"\{\s*(\w+)\s*(?:\(([^)]*)\))?\s*\{", re.S)
_ITEMS_RE = re.compile(r"items\s*\{([^{}]*)\}", re.S)
_FLAT_RE = re.compile(r"\{\s*\w+\s*(?:\([^)]*\))?\s*\{([^{}]*)\}", re.S)

# Backend.AI's enum spellings in filters, mapped to stored values.
_ENUMS = {
    "ownership_type": {"USER": "user", "GROUP": "group"},
    "status": {
        "READY": "ready",
        "PERFORMING": "performing",
        "CLONING": "cloning",
        "DELETING": "delete-ongoing",
        "MOUNTED": "mounted",
    },
    "permission": {"READ_ONLY": "ro", "READ_WRITE": "rw", "RW_DELETE": "wd", "OWNER_PERM": "wd"},
}


class GqlError(InvalidRequest):
    """A query this node cannot answer; sent back in the GraphQL `errors` array."""


def folder_field(f: VFolder, name: str) -> Any:
    values: dict[str, Any] = {
        "id": str(f.id),
        "host": f.host,
        "name": f.name,
        "user": str(f.user_id) if f.user_id else None,
        "group": str(f.project_id) if f.project_id else None,
        "creator": f.creator,
        "status": f.status,
        "unmanaged_path": None,
        "usage_mode": f.usage_mode,
        "permission": f.caller_permission or f.permission,
        "ownership_type": f.ownership_type,
        "max_files": 0,
        "max_size": 0,
        "created_at": f.created_at.isoformat(),
        "last_used": f.last_used.isoformat() if f.last_used else None,
        "num_files": f.num_files,
        "cur_size": f.cur_size,
        "cloneable": f.cloneable,
        "quota_scope_id": f.quota_scope_id,
    }
    if name not in values:
        raise GqlError(f'Cannot query field "{name}" on type "VirtualFolder".')
    return values[name]


def parse(query: str) -> tuple[str, list[str]]:
    """The root field and the requested fields (of `items`, or of the object itself)."""
    m = _ROOT_RE.search(query)
    if not m:
        raise GqlError("could not read the query: expected `query(…) { root(…) { … } }`")
    root = m.group(1)
    items = _ITEMS_RE.search(query)
    flat = _FLAT_RE.search(query)
    body = items.group(1) if items else (flat.group(1) if flat else "")
    return root, body.split()


# ---- filter: `name == "x" & status in ["READY"] | creator ilike "%@x.com"` --------------------

_TOKEN_RE = re.compile(
    r'\s*(?:(?P<str>"(?:[^"\\]|\\.)*")|(?P<num>-?\d+(?:\.\d+)?)|'
    r"(?P<op>==|!=|<=|>=|<|>|&|\||\(|\)|\[|\]|,)|(?P<word>\w+))"
)


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if not m or m.end() == pos:
            raise GqlError(f"cannot read the filter at {text[pos : pos + 20]!r}")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return out


Pred = Callable[[VFolder], bool]


def _either(a: Pred, b: Pred) -> Pred:
    return lambda f: a(f) or b(f)


def _both(a: Pred, b: Pred) -> Pred:
    return lambda f: a(f) and b(f)


class _FilterParser:
    def __init__(self, text: str) -> None:
        self.toks = _tokens(text)
        self.i = 0

    def peek(self) -> tuple[str, str] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> tuple[str, str]:
        tok = self.peek()
        if tok is None:
            raise GqlError("the filter ends too early")
        self.i += 1
        return tok

    def parse(self) -> Pred:
        pred = self.expr()
        if self.peek() is not None:
            raise GqlError(f"unexpected {self.peek()[1]!r} in the filter")  # type: ignore[index]
        return pred

    def expr(self) -> Pred:
        left = self.term()
        while self.peek() == ("op", "|"):
            self.take()
            left = _either(left, self.term())
        return left

    def term(self) -> Pred:
        left = self.factor()
        while self.peek() == ("op", "&"):
            self.take()
            left = _both(left, self.factor())
        return left

    def factor(self) -> Pred:
        if self.peek() == ("op", "("):
            self.take()
            inner = self.expr()
            if self.take() != ("op", ")"):
                raise GqlError("missing ')' in the filter")
            return inner
        kind, field = self.take()
        if kind != "word":
            raise GqlError(f"expected a column name in the filter, got {field!r}")
        op = self.take()[1].lower()
        value = self.value(field)
        return _compare(field, op, value)

    def value(self, field: str) -> Any:
        kind, text = self.take()
        if kind == "str":
            raw = bytes(text[1:-1], "utf-8").decode("unicode_escape")
            return _ENUMS.get(field, {}).get(raw, raw)
        if kind == "num":
            return float(text) if "." in text else int(text)
        if kind == "word" and text.lower() in ("null", "none"):
            return None
        if (kind, text) == ("op", "["):
            items = []
            while self.peek() != ("op", "]"):
                items.append(self.value(field))
                if self.peek() == ("op", ","):
                    self.take()
            self.take()
            return items
        raise GqlError(f"cannot read the value {text!r} in the filter")


def _like(pattern: str, value: str, flags: int = 0) -> bool:
    regex = "^" + ".*".join(re.escape(part) for part in pattern.split("%")) + "$"
    return re.match(regex, value, flags) is not None


def _compare(field: str, op: str, want: Any) -> Pred:
    def get(f: VFolder) -> Any:
        return folder_field(f, field)

    ops: dict[str, Callable[[Any], bool]] = {
        "==": lambda v: v == want,
        "!=": lambda v: v != want,
        "<": lambda v: v < want,
        "<=": lambda v: v <= want,
        ">": lambda v: v > want,
        ">=": lambda v: v >= want,
        "is": lambda v: v is want,
        "isnot": lambda v: v is not want,
        "in": lambda v: v in want,
        "contains": lambda v: str(want) in str(v),
        "like": lambda v: _like(str(want), str(v)),
        "ilike": lambda v: _like(str(want), str(v), re.I),
    }
    if op not in ops:
        raise GqlError(f"unknown filter operator {op!r}")
    test = ops[op]
    return lambda f: bool(test(get(f)))


def apply(folders: list[VFolder], flt: str | None, order: str | None) -> list[VFolder]:
    if flt:
        pred = _FilterParser(flt).parse()
        folders = [f for f in folders if pred(f)]
    if order:
        key = order.lstrip("+-")
        folders = sorted(
            folders,
            key=lambda f: (folder_field(f, key) is None, folder_field(f, key) or ""),
            reverse=order.startswith("-"),
        )
    return folders
