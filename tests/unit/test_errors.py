from __future__ import annotations

import pytest

from bai import errors


@pytest.mark.parametrize(
    "cls",
    [
        errors.InvalidRequest,
        errors.InvalidPath,
        errors.AuthFailed,
        errors.Forbidden,
        errors.NotFound,
        errors.Conflict,
        errors.QuotaExceeded,
        errors.TooManyRequests,
        errors.ServiceUnavailable,
    ],
)
def test_problem_round_trip(cls: type[errors.BaiError]) -> None:
    err = cls("something precise went wrong")
    body = err.to_problem()
    assert body["type"].startswith("https://api.backend.ai/probs/")
    assert isinstance(body["title"], str) and body["msg"] == "something precise went wrong"
    back = errors.from_problem(err.status, body)
    assert type(back) is cls
    assert back.msg == err.msg and back.exit_code == err.exit_code != 0


def test_non_json_body_keeps_status_class() -> None:
    back = errors.from_problem(404, "<html>nope</html>")
    assert isinstance(back, errors.NotFound)
