"""Provides `create_app`: the Litestar application of one node."""

from __future__ import annotations

from litestar import Litestar
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig

from bai import __version__
from bai.node import Node
from bai.server.http.auth import SKIP_AUTH, KeypairAuthMiddleware
from bai.server.http.controllers.admin import AdminController
from bai.server.http.controllers.buckets import BucketsController
from bai.server.http.controllers.dotfiles import (
    DomainDotfilesController,
    GroupDotfilesController,
    UserDotfilesController,
)
from bai.server.http.controllers.events import EventsController
from bai.server.http.controllers.files import FilesController
from bai.server.http.controllers.folders import FoldersController
from bai.server.http.controllers.gql import GqlController
from bai.server.http.controllers.hosts import HostsController
from bai.server.http.controllers.quota import QuotaController
from bai.server.http.controllers.root import RootController
from bai.server.http.controllers.sessions import SessionsController, stream_execute
from bai.server.http.controllers.sftp import SftpSessionsController, SshKeypairController
from bai.server.http.controllers.sharing import SharingController
from bai.server.http.controllers.tasks import TasksController
from bai.server.http.controllers.transfers import TransfersController, tus_options_middleware
from bai.server.http.deps import DEPENDENCIES
from bai.server.http.errors import EXCEPTION_HANDLERS
from bai.server.http.tokens import TokenIssuer


def create_app(node: Node) -> Litestar:
    """The HTTP transport of a running `node`: it serves requests and owns nothing of the
    node's life (the node's loops start and stop with `async with Node(...)`)."""
    app = Litestar(
        route_handlers=[
            RootController,
            HostsController,
            AdminController,
            BucketsController,
            FoldersController,
            FilesController,
            TransfersController,
            TasksController,
            QuotaController,
            GqlController,
            SshKeypairController,
            SftpSessionsController,
            SharingController,
            SessionsController,
            stream_execute,
            UserDotfilesController,
            GroupDotfilesController,
            DomainDotfilesController,
            EventsController,
        ],
        dependencies=DEPENDENCIES,
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[
            tus_options_middleware,
            DefineMiddleware(
                KeypairAuthMiddleware, exclude=["^/schema"], exclude_from_auth_key=SKIP_AUTH
            ),
        ],
        openapi_config=OpenAPIConfig(
            title="bai node API",
            version=__version__,
            path="/schema",
            description="Backend.AI-compatible storage-folder API, plus bai's additions.",
        ),
        debug=False,
        logging_config=None,  # bai configures logging once, in `bai serve`
    )
    app.state.services = node
    app.state.tokens = TokenIssuer(node.secret.derive(b"transfer-tokens"))
    app.state.endpoint = node.config.endpoint
    return app
