"""The official client's filter and order mini-languages, and the query shapes it sends."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from bai.folders import gql
from bai.folders.models import VFolder

QUERY = """query($limit:Int!, $offset:Int!, $group_id: UUID, $filter: String, $order: String) {
  vfolder_list(
      limit:$limit, offset:$offset, group_id:$group_id, filter:$filter, order:$order) {
    items { host name created_at creator group permission ownership_type status }
    total_count
  }
}"""


def folder(
    name: str, status: str = "ready", owner: str = "user", perm: str = "wd", day: int = 1
) -> VFolder:
    return VFolder(
        id=uuid.uuid4(),
        host="local",
        quota_scope_id=f"user:{uuid.uuid4()}",
        name=name,
        usage_mode="general",
        permission=perm,
        ownership_type=owner,
        user_id=None,
        project_id=None,
        creator=f"{name}@example.com",
        cloneable=False,
        status=status,
        status_history={},
        created_at=datetime(2024, 1, day, tzinfo=UTC),
        last_used=None,
        num_files=0,
        cur_size=0,
    )


FOLDERS = [
    folder("a", day=3),
    folder("b", status="delete-pending", day=1),
    folder("c", owner="group", perm="ro", day=2),
]


def names(flt: str | None, order: str | None = None) -> list[str]:
    return [f.name for f in gql.apply(list(FOLDERS), flt, order)]


def test_query_shape() -> None:
    root, fields = gql.parse(QUERY)
    assert root == "vfolder_list"
    assert fields == [
        "host",
        "name",
        "created_at",
        "creator",
        "group",
        "permission",
        "ownership_type",
        "status",
    ]


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        ('name == "a"', ["a"]),
        ('status == "READY"', ["a", "c"]),
        ('ownership_type == "GROUP"', ["c"]),
        ('permission in ["READ_ONLY", "READ_WRITE"]', ["c"]),
        ('creator ilike "%@EXAMPLE.com"', ["a", "b", "c"]),
        ('name == "a" | name == "b" & status == "READY"', ["a"]),
        ('(name == "a" | name == "b") & status == "READY"', ["a"]),
        ('created_at >= "2024-01-02"', ["a", "c"]),
        ('name != "b"', ["a", "c"]),
    ],
)
def test_filters(flt: str, expected: list[str]) -> None:
    assert names(flt) == expected


def test_order() -> None:
    assert names(None, "-name") == ["c", "b", "a"]
    assert names(None, "created_at") == ["b", "c", "a"]


@pytest.mark.parametrize("bad", ["name ===", 'name == "a" &', '(name == "a"', "size > 1"])
def test_bad_filters_are_errors(bad: str) -> None:
    with pytest.raises(gql.GqlError):
        names(bad)
