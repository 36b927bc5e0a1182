"""Provides `create_app`: the Litestar application of one node."""

from __future__ import annotations

from litestar import Litestar
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig

from bai import __version__
from bai.server.auth import SKIP_AUTH, KeypairAuthMiddleware
from bai.server.controllers.admin import AdminController
from bai.server.controllers.files import FilesController
from bai.server.controllers.folders import FoldersController
from bai.server.controllers.gql import GqlController
from bai.server.controllers.hosts import HostsController
from bai.server.controllers.quota import QuotaController
from bai.server.controllers.root import RootController
from bai.server.controllers.tasks import TasksController
from bai.server.controllers.transfers import TransfersController, tus_options_middleware
from bai.server.deps import DEPENDENCIES
from bai.server.errors import EXCEPTION_HANDLERS
from bai.server.services import NodeServices


def create_app(services: NodeServices) -> Litestar:
    app = Litestar(
        route_handlers=[
            RootController,
            HostsController,
            AdminController,
            FoldersController,
            FilesController,
            TransfersController,
            TasksController,
            QuotaController,
            GqlController,
        ],
        on_startup=[services.start],
        on_shutdown=[services.stop],
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
    app.state.services = services
    return app
