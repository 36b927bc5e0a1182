"""Provides `BaiClient`: signed requests to a node, typed resources, errors as `bai.errors`.

    async with BaiClient(load_client_config()) as client:
        folders = await client.folders.list()
        await client.files.upload("work", Path("data.csv"), "data.csv")

Resources (`folders`, `files`, `hosts`, `admin`, `quota`, `tasks`, `ssh_keypair`, `sftp`)
return `bai.api` structs.
The untyped `get`/`post`/`request` stay for tests and tools that probe the wire itself.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any, TypeVar

import httpx
import msgspec

from bai import API_VERSION, __version__, api, signing
from bai.client.admin import AdminApi
from bai.client.config import ClientConfig
from bai.client.errors import NodeUnreachable
from bai.client.files import FilesApi
from bai.client.folders import FoldersApi
from bai.client.hosts import HostsApi
from bai.client.paths import folder_path
from bai.client.quota import QuotaApi
from bai.client.ranged import Settings as TransferSettings
from bai.client.sftp import SftpApi, SshKeypairApi
from bai.client.sharing import SharingApi
from bai.client.tasks import TasksApi
from bai.errors import BaiError, from_problem

T = TypeVar("T")
__all__ = ["BaiClient", "folder_path"]

# Short: a node that does not accept the connection at once is down, or the endpoint is wrong.
CONNECT_TIMEOUT = 5.0


class BaiClient:
    def __init__(
        self,
        config: ClientConfig,
        *,
        http: httpx.AsyncClient | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.config = config
        self._own_http = http is None
        self.http = http or httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=CONNECT_TIMEOUT)
        )
        # Whether the node has answered anything yet: a transfer retries a lost connection
        # only after that, so a node that is down at the start fails the command at once.
        self.reached = False
        # Bulk bytes of transfers go over our own sockets (sendfile, recv_into), unless the
        # caller brought its own transport (an in-process app has no socket).
        self.direct = http is None
        self.transfer = TransferSettings()
        self.folders = FoldersApi(self)
        self.files = FilesApi(self)
        self.hosts = HostsApi(self)
        self.admin = AdminApi(self)
        self.quota = QuotaApi(self)
        self.tasks = TasksApi(self)
        self.ssh_keypair = SshKeypairApi(self)
        self.sftp = SftpApi(self)
        self.sharing = SharingApi(self)

    async def __aenter__(self) -> BaiClient:
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._own_http:
            await self.http.aclose()

    def url(self, path: str) -> str:
        return self.config.endpoint + path

    def build(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        content: bytes | None = None,
        timeout: float | None = None,
    ) -> httpx.Request:
        """A signed request; `content` is an already-encoded JSON body; `timeout` replaces the
        client's read timeout for requests the node may take long to answer."""
        has_body = json is not None or content is not None
        content_type = "application/json" if has_body else "text/plain"
        request = self.http.build_request(
            method,
            self.url(path),
            json=json,
            content=content,
            params={k: v for k, v in (params or {}).items() if v is not None} or None,
            timeout=(
                httpx.Timeout(timeout, connect=CONNECT_TIMEOUT)
                if timeout
                else httpx.USE_CLIENT_DEFAULT
            ),
        )
        date = signing.now_header()
        host = request.url.netloc.decode()
        sig = signing.signature(
            self.config.secret_key,
            method=method,
            target=request.url.raw_path.decode(),
            date=date,
            host=host,
            content_type=content_type,
            version=API_VERSION,
        )
        request.headers.update(
            {
                "Date": date,
                "Content-Type": content_type,
                "X-BackendAI-Version": API_VERSION,
                "X-BackendAI-Domain": self.config.domain,
                "User-Agent": f"bai/{__version__}",
                "Authorization": signing.authorization(self.config.access_key, sig),
            }
        )
        return request

    async def send(self, request: httpx.Request, *, stream: bool = False) -> httpx.Response:
        """Send; an error answer raises its `bai.errors` class, no answer `NodeUnreachable`."""
        try:
            response = await self.http.send(request, stream=stream)
        except httpx.TransportError as e:
            raise self.unreachable(e) from None
        self.reached = True
        if response.status_code >= 400:
            try:
                await response.aread()
            except httpx.TransportError as e:
                raise self.unreachable(e) from None
            raise self.error_from(response)
        return response

    def unreachable(self, e: Exception) -> NodeUnreachable:
        if self.reached:
            return NodeUnreachable(f"lost the connection to the node ({type(e).__name__}: {e})")
        return NodeUnreachable(
            f"cannot reach the node at {self.config.endpoint} ({type(e).__name__}: {e}); "
            "is `bai serve` running and BACKEND_ENDPOINT right?"
        )

    @staticmethod
    def error_from(response: httpx.Response) -> BaiError:
        try:
            body: Any = response.json()
        except ValueError:
            body = response.text
        return from_problem(response.status_code, body)

    # ---- typed calls (what the resources use)

    async def call(
        self,
        method: str,
        path: str,
        result: type[T],
        *,
        body: api.WireRequest | None = None,
        params: dict[str, Any] | None = None,
        timeout: float | None = None,
    ) -> T:
        """One request whose answer is decoded into `result` (a `bai.api` struct, or a list)."""
        response = await self._call(method, path, body, params, timeout)
        try:
            return msgspec.json.decode(response.content, type=result)
        except msgspec.ValidationError as e:
            raise BaiError(
                f"the node's answer to {method} {path} is not what this client expects ({e}); "
                "are the node and the client of the same version?"
            ) from None

    async def call_empty(
        self,
        method: str,
        path: str,
        *,
        body: api.WireRequest | None = None,
        params: dict[str, Any] | None = None,
    ) -> None:
        """One request whose answer has no body worth reading (204)."""
        await self._call(method, path, body, params)

    async def _call(
        self,
        method: str,
        path: str,
        body: api.WireRequest | None,
        params: dict[str, Any] | None,
        timeout: float | None = None,
    ) -> httpx.Response:
        content = None if body is None else msgspec.json.encode(body)
        request = self.build(method, path, content=content, params=params, timeout=timeout)
        return await self.send(request)

    async def version(self) -> api.VersionInfo:
        return await self.call("GET", "/", api.VersionInfo)

    # ---- untyped calls (tests and wire probes)

    async def request(
        self, method: str, path: str, *, json: Any = None, params: dict[str, Any] | None = None
    ) -> Any:
        response = await self.send(self.build(method, path, json=json, params=params))
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    async def get(self, path: str, **kw: Any) -> Any:
        return await self.request("GET", path, **kw)

    async def post(self, path: str, **kw: Any) -> Any:
        return await self.request("POST", path, **kw)
