"""Provides the async HTTP client of a bai node (and of Backend.AI's API it mirrors)."""

from bai.client.config import ClientConfig, load_client_config
from bai.client.session import BaiClient

__all__ = ["BaiClient", "ClientConfig", "load_client_config"]
