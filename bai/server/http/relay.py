"""Provides the relay of a transfer request to the node that holds a folder's bytes.

A folder on another node's local volume is served by that node (Backend.AI's storage-proxy
role): this node asks it for the ticket on the caller's behalf, signing as the caller (every
node of one database can read the caller's keypair), so the other node checks the caller's
permission itself and the ticket's URL points at it."""

from __future__ import annotations

from bai import api
from bai.access import Principal
from bai.client import BaiClient, ClientConfig
from bai.client.paths import segment
from bai.node import Node


async def relay_ticket(
    services: Node,
    principal: Principal,
    node_url: str,
    name: str,
    action: str,
    body: api.UploadRequest | api.DownloadRequest,
) -> api.TransferTicket:
    record = await services.accounts.auth_record(principal.access_key)
    async with BaiClient(
        ClientConfig(node_url, principal.access_key, record.secret_key), timeout=30
    ) as client:
        return await client.call(
            "POST", f"/folders/{segment(name)}/{action}", api.TransferTicket, body=body
        )
