"""Keypair authentication as the official client signs, with precise 401s and a throttle."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from bai import API_VERSION, signing
from tests.conftest import InProcessNode

HOST = "testserver.local"


def signed(
    access: str,
    secret: str,
    *,
    method: str = "GET",
    target: str = "/folders/_/hosts",
    date: str | None = None,
    content_type: str = "text/plain",
) -> dict[str, str]:
    date = date or datetime.now(UTC).isoformat()
    sig = signing.signature(
        secret,
        method=method,
        target=target,
        date=date,
        host=HOST,
        content_type=content_type,
        version=API_VERSION,
    )
    return {
        "Date": date,
        "Content-Type": content_type,
        "X-BackendAI-Version": API_VERSION,
        "Authorization": signing.authorization(access, sig),
    }


async def test_version_document_needs_no_auth(node: InProcessNode) -> None:
    res = await node.http.get("/")
    assert res.status_code == 200
    assert res.json()["version"] == "v7.20230615"


async def test_signed_request_passes(node: InProcessNode) -> None:
    kp = node.admin.config
    res = await node.http.get("/folders/_/hosts", headers=signed(kp.access_key, kp.secret_key))
    assert res.status_code == 200, res.text
    assert res.json()["default"] == "local"
    assert res.json()["allowed"] == ["local"]
    info = res.json()["volume_info"]["local"]
    assert info["backend"] == "vfs" and info["usage"]["capacity_bytes"] > 0


async def test_query_string_is_signed(node: InProcessNode) -> None:
    kp = node.admin.config
    target = "/admin/keypairs?email=admin%40bai.local"
    ok = await node.http.get(target, headers=signed(kp.access_key, kp.secret_key, target=target))
    assert ok.status_code == 200, ok.text
    # The same signature on another query must fail: the query is part of what is signed.
    other = await node.http.get(
        "/admin/keypairs?email=x", headers=signed(kp.access_key, kp.secret_key, target=target)
    )
    assert other.status_code == 401


async def _problem(node: InProcessNode, headers: dict[str, str]) -> tuple[int, str]:
    res = await node.http.get("/folders/_/hosts", headers=headers)
    body = res.json()
    assert body["type"].startswith("https://api.backend.ai/probs/") and body["title"]
    return res.status_code, body["msg"]


async def test_each_failure_says_why(node: InProcessNode) -> None:
    kp = node.admin.config
    status, msg = await _problem(node, {})
    assert status == 401 and "signed request" in msg

    status, msg = await _problem(node, signed("AKIANOSUCHKEY0000000", kp.secret_key))
    assert status == 401 and "unknown access key" in msg

    status, msg = await _problem(node, signed(kp.access_key, "not-the-secret"))
    assert status == 401 and "signature mismatch" in msg

    old = (datetime.now(UTC) - timedelta(minutes=16)).isoformat()
    status, msg = await _problem(node, signed(kp.access_key, kp.secret_key, date=old))
    assert status == 401 and "away from the node's clock" in msg

    headers = signed(kp.access_key, kp.secret_key)
    del headers["Date"]
    status, msg = await _problem(node, headers)
    assert status == 401 and "missing Date" in msg


async def test_within_skew_is_accepted(node: InProcessNode) -> None:
    kp = node.admin.config
    recent = (datetime.now(UTC) - timedelta(minutes=14)).isoformat()
    res = await node.http.get(
        "/folders/_/hosts", headers=signed(kp.access_key, kp.secret_key, date=recent)
    )
    assert res.status_code == 200


async def test_revoked_and_inactive_keys(node: InProcessNode) -> None:
    res = await node.admin.post("/admin/users", json={"email": "rev@example.com"})
    kp = res["keypair"]
    assert (
        await node.http.get("/folders/_/hosts", headers=signed(kp["access_key"], kp["secret_key"]))
    ).status_code == 200
    await node.admin.post(f"/admin/keypairs/{kp['access_key']}/revoke")
    status, msg = await _problem(node, signed(kp["access_key"], kp["secret_key"]))
    assert status == 401 and "revoked" in msg

    res = await node.admin.post("/admin/users", json={"email": "gone@example.com"})
    kp2 = res["keypair"]
    await node.admin.post("/admin/users/gone@example.com/deactivate")
    status, msg = await _problem(node, signed(kp2["access_key"], kp2["secret_key"]))
    assert status == 401 and "inactive" in msg


async def test_throttle_blocks_then_releases(node: InProcessNode) -> None:
    kp = node.admin.config
    limit = node.config.auth.throttle_failures
    for _ in range(limit):
        status, _ = await _problem(node, signed(kp.access_key, "wrong"))
        assert status == 401
    # Even a correct request from the same address is refused while blocked.
    res = await node.http.get("/folders/_/hosts", headers=signed(kp.access_key, kp.secret_key))
    assert res.status_code == 429
    assert "too many failed sign-ins" in res.json()["msg"]
    assert int(res.headers["retry-after"]) >= 1
    await asyncio.sleep(node.config.auth.throttle_window + 0.2)
    res = await node.http.get("/folders/_/hosts", headers=signed(kp.access_key, kp.secret_key))
    assert res.status_code == 200


async def test_secrets_never_in_listings(node: InProcessNode) -> None:
    res = await node.admin.post("/admin/users", json={"email": "s@example.com"})
    secret = res["keypair"]["secret_key"]
    listing = await node.http.get(
        "/admin/keypairs",
        headers=signed(
            node.admin.config.access_key, node.admin.config.secret_key, target="/admin/keypairs"
        ),
    )
    assert secret not in listing.text and node.admin.config.secret_key not in listing.text
    assert "secret" not in listing.text
