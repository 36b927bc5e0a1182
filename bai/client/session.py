"""Provides `BaiClient`: signed requests to a node, errors turned back into `bai.errors`."""

from __future__ import annotations

from types import TracebackType
from typing import Any

import httpx

from bai import API_VERSION, __version__, signing
from bai.client.config import ClientConfig
from bai.errors import BaiError, ServiceUnavailable, from_problem


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
        self.http = http or httpx.AsyncClient(timeout=httpx.Timeout(timeout, connect=10.0))

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
    ) -> httpx.Request:
        content_type = "application/json" if json is not None else "text/plain"
        request = self.http.build_request(
            method,
            self.url(path),
            json=json,
            params={k: v for k, v in (params or {}).items() if v is not None} or None,
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
        try:
            response = await self.http.send(request, stream=stream)
        except httpx.TransportError as e:
            raise ServiceUnavailable(
                f"cannot reach the node at {self.config.endpoint} ({type(e).__name__}: {e}); "
                "is `bai serve` running and BACKEND_ENDPOINT right?"
            ) from None
        if response.status_code >= 400:
            await response.aread()
            raise self.error_from(response)
        return response

    @staticmethod
    def error_from(response: httpx.Response) -> BaiError:
        try:
            body: Any = response.json()
        except ValueError:
            body = response.text
        return from_problem(response.status_code, body)

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
