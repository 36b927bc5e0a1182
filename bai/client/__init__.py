"""Provides the typed async HTTP client of a bai node (and of Backend.AI's API it mirrors).

`BaiClient(config)` signs requests like the official client and offers resources that speak
in `bai.api` structs: `client.folders`, `client.files`, `client.hosts`, `client.admin`
(`users`, `projects`, `keypairs`, `policies`), `client.quota` and `client.tasks`.
"""

from bai.client.compute import DotfilesApi, SessionsApi
from bai.client.config import ClientConfig, load_client_config
from bai.client.errors import CannotCreate, LocalFileError, NodeUnreachable
from bai.client.events import EventsApi
from bai.client.files import Fetched
from bai.client.session import BaiClient
from bai.client.tasks import TaskFailed
from bai.client.transfers import NoProgress, Progress

__all__ = [
    "BaiClient",
    "CannotCreate",
    "ClientConfig",
    "DotfilesApi",
    "EventsApi",
    "Fetched",
    "LocalFileError",
    "NoProgress",
    "NodeUnreachable",
    "Progress",
    "SessionsApi",
    "TaskFailed",
    "load_client_config",
]
