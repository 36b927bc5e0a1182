"""The signature must equal what the official client computes (reference worked example)."""

from __future__ import annotations

import pytest

from bai import signing

EXAMPLE = dict(
    method="GET",
    target="/folders/_/hosts",
    date="2024-01-15T12:34:56+00:00",
    host="127.0.0.1:8090",
    version="v7.20230615",
)
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def test_worked_example_text_plain() -> None:
    sig = signing.signature(SECRET, content_type="text/plain", **EXAMPLE)
    assert sig == "4ccf48aabfaf39bc26fcb5b93eabac16eb1fa0f8789f2c3092cbb49706b0cb72"


def test_worked_example_json() -> None:
    sig = signing.signature(SECRET, content_type="application/json", **EXAMPLE)
    assert sig == "238d0bfc689acbb561b26d8c5f30b182639e5c7a1beb58a999e6f71991b8083d"


def test_authorization_header_round_trip() -> None:
    header = signing.authorization("AKIAIOSFODNN7EXAMPLE", "ab12")
    assert header == "BackendAI signMethod=HMAC-SHA256, credential=AKIAIOSFODNN7EXAMPLE:ab12"
    assert signing.parse_authorization(header) == ("HMAC-SHA256", "AKIAIOSFODNN7EXAMPLE", "ab12")
    assert signing.parse_authorization("Bearer xyz") is None


@pytest.mark.parametrize(
    "value",
    [
        "2024-01-15T12:34:56+00:00",
        "2024-01-15T12:34:56.462327+00:00",
        "Mon, 15 Jan 2024 12:34:56 GMT",
        "2024-01-15T21:34:56+09:00",
    ],
)
def test_dates_in_both_formats(value: str) -> None:
    assert signing.parse_date(value).strftime("%Y%m%d %H:%M:%S") == "20240115 12:34:56"


def test_unreadable_date() -> None:
    with pytest.raises(ValueError):
        signing.parse_date("yesterday")
