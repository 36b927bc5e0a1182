"""Provides the small GraphQL subset the official client's list commands send.

`backend.ai vfolder list` (and `list-own`, `list-invited`, `list-project`, `admin vfolder
list`, `admin storage list|info`) post one fixed query shape to `/admin/gql`. This module
answers exactly those shapes: the root field, its arguments, the requested item fields in the
requested order (the client prints columns by position), and Backend.AI's filter and order
mini-languages. Anything else is a GraphQL error, never a guess.
"""

from __future__ import annotations

import json
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


FIELD_NAMES = frozenset(
    [
        "id",
        "host",
        "name",
        "user",
        "group",
        "creator",
        "status",
        "unmanaged_path",
        "usage_mode",
        "permission",
        "ownership_type",
        "max_files",
        "max_size",
        "created_at",
        "last_used",
        "num_files",
        "cur_size",
        "cloneable",
        "quota_scope_id",
    ]
)


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


# Bounds on what anyone may send: a filter is a handful of comparisons, not a program.
MAX_FILTER_CHARS = 4096
MAX_TOKENS = 512
MAX_DEPTH = 16


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.strip()
    if len(text) > MAX_FILTER_CHARS:
        raise GqlError(f"the filter is longer than {MAX_FILTER_CHARS} characters")
    while pos < len(text):
        if len(out) >= MAX_TOKENS:
            raise GqlError(f"the filter has more than {MAX_TOKENS} parts")
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
        self.depth = 0

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
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise GqlError(f"the filter nests brackets deeper than {MAX_DEPTH}")
            inner = self.expr()
            if self.take() != ("op", ")"):
                raise GqlError("missing ')' in the filter")
            self.depth -= 1
            return inner
        kind, field = self.take()
        if kind != "word":
            raise GqlError(f"expected a column name in the filter, got {field!r}")
        if field not in FIELD_NAMES:
            raise GqlError(f'Cannot filter on field "{field}" of type "VirtualFolder".')
        op = self.take()[1].lower()
        value = self.value(field)
        return _compare(field, op, value)

    def value(self, field: str) -> Any:
        kind, text = self.take()
        if kind == "str":
            try:
                raw = json.loads(text)  # the filter's strings are JSON's
            except ValueError:
                raise GqlError(f"cannot read the string {text[:40]!r} in the filter") from None
            return _ENUMS.get(field, {}).get(raw, raw)
        if kind == "num":
            return float(text) if "." in text else int(text)
        if kind == "word" and text.lower() in ("null", "none"):
            return None
        if (kind, text) == ("op", "["):
            items = []
            while self.peek() != ("op", "]"):
                if self.peek() is None:
                    raise GqlError("missing ']' in the filter")
                items.append(self.value(field))
                if self.peek() == ("op", ","):
                    self.take()
            self.take()
            return items
        raise GqlError(f"cannot read the value {text!r} in the filter")


def _like(pattern: str, value: str, fold: bool = False) -> bool:
    """SQL LIKE with `%` (any run of characters), in linear time: the literal pieces between
    the `%`s are found left to right, each at its first place after the previous one — no
    backtracking, so no pattern can make a match slow."""
    if fold:
        pattern, value = pattern.casefold(), value.casefold()
    parts = pattern.split("%")
    if len(parts) == 1:
        return value == pattern
    first, *middle, last = parts
    if len(first) + len(last) > len(value):
        return False
    if not (value.startswith(first) and value.endswith(last)):
        return False
    pos, end = len(first), len(value) - len(last)
    for piece in middle:
        found = value.find(piece, pos, end)
        if found < 0:
            return False
        pos = found + len(piece)
    return True


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
        "ilike": lambda v: _like(str(want), str(v), fold=True),
    }
    if op not in ops:
        raise GqlError(f"unknown filter operator {op!r}")
    if op == "in" and not isinstance(want, list):
        raise GqlError(f'`{field} in` needs a list such as ["a", "b"]')
    test = ops[op]

    def pred(f: VFolder) -> bool:
        try:
            return bool(test(get(f)))
        except TypeError:
            raise GqlError(
                f"cannot compare {field} with {want!r} using {op!r}: the types differ"
            ) from None

    return pred


def apply(folders: list[VFolder], flt: str | None, order: str | None) -> list[VFolder]:
    if flt:
        pred = _FilterParser(flt).parse()
        folders = [f for f in folders if pred(f)]
    if order:
        key = order.lstrip("+-")
        if key not in FIELD_NAMES:
            raise GqlError(f'Cannot order by field "{key}" of type "VirtualFolder".')
        folders = sorted(
            folders,
            key=lambda f: (folder_field(f, key) is None, folder_field(f, key) or ""),
            reverse=order.startswith("-"),
        )
    return folders
