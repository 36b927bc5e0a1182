"""Provides the node configuration (`node.toml`): defaults, loading and validation.

Every setting is documented in `samples/node.toml`. Validation happens before the node
touches the disk, so a broken file changes nothing and names the file and the key.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bai.errors import ConfigError, InvalidRequest
from bai.sizes import parse_size

# Backends this build can run.
BACKENDS = ("vfs", "btrfs", "minio")
DEFAULT_VOLUME = "local"

DEFAULT_NODE_TOML = """\
# bai node configuration, written at first start. Every setting is documented in
# samples/node.toml of the bai source tree.

[server]
host = "127.0.0.1"
port = 8090
sftp_port = 2022

[storage]
default_host = "local"

[volume.local]
backend = "vfs"
path = "volumes/local"
"""


@dataclass(frozen=True)
class VolumeConfig:
    name: str
    backend: str
    path: Path | None
    endpoint: str | None = None
    # Options may hold credentials (minio-secret-key): never part of a repr, so never logged.
    options: dict[str, Any] = field(default_factory=dict, repr=False)
    # Every node declaring a shared volume sees the same bytes (a bucket, NFS, CephFS); a
    # volume that is not shared belongs to the one node that declares it.
    shared: bool = False


@dataclass(frozen=True)
class AuthConfig:
    max_clock_skew: int = 900
    throttle_failures: int = 10
    throttle_window: float = 60.0


@dataclass(frozen=True)
class SftpConfig:
    """The SFTP service (`[sftp]`); its port is `[server] sftp_port`."""

    enabled: bool = True
    idle_timeout: float = 1800.0  # a session ends after this many seconds without transfers
    throttle_failures: int = 5  # failed logins from one address within the window ban it
    throttle_window: float = 300.0


@dataclass(frozen=True)
class ClusterConfig:
    """`[database]` and `[node]`: where the state lives and how nodes sharing it meet."""

    # None: SQLite in the data directory. A PostgreSQL URL lets several nodes share state.
    database_url: str | None = None
    # The node secret (tokens, sealed keypair secrets); nodes of one database share one file.
    secret_file: Path | None = None
    heartbeat: float = 5.0  # seconds between a node's "I am alive" writes
    down_after: float = 30.0  # a node silent this long is down; its tasks go to others


@dataclass(frozen=True)
class NodeConfig:
    data_dir: Path
    source: Path | None = None
    host: str = "127.0.0.1"
    port: int = 8090
    sftp_port: int = 2022
    public_url: str | None = None
    log_level: str = "info"
    # Backend.AI names a volume of a given storage proxy `PROXY:VOLUME`; this node answers to
    # `NODE_NAME:VOLUME` and refuses another node's volumes.
    node_name: str = "local"
    # Reverse proxies whose X-Forwarded-For is believed (for the sign-in throttle and logs);
    # nobody else's, not even localhost's, so no client can pick its own address.
    trusted_proxies: tuple[str, ...] = ()
    default_host: str = DEFAULT_VOLUME
    admin_email: str = "admin@bai.local"
    auth: AuthConfig = field(default_factory=AuthConfig)
    sftp: SftpConfig = field(default_factory=SftpConfig)
    volumes: dict[str, VolumeConfig] = field(default_factory=dict)
    # Compute sessions: `[image."NAME"]` environments and `[sessions]` limits.
    images: dict[str, ImageConfig] = field(default_factory=dict)
    sessions: SessionsConfig = field(default_factory=lambda: SessionsConfig())
    cluster: ClusterConfig = field(default_factory=ClusterConfig)

    @property
    def endpoint(self) -> str:
        """The URL clients use; it is also the host the official client signs."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        host = "[::1]" if host == "::" else host
        return f"http://{host}:{self.port}"


class _Reader:
    """Walks a parsed TOML table and reports problems as `file: key: what is wrong`."""

    def __init__(self, source: str, table: dict[str, Any], prefix: str = "") -> None:
        self.source = source
        self.table = table
        self.prefix = prefix
        self.seen: set[str] = set()

    def fail(self, key: str, what: str) -> ConfigError:
        return ConfigError(f"{self.source}: {self.prefix}{key}: {what}")

    def get(self, key: str, kind: type | tuple[type, ...], default: Any) -> Any:
        self.seen.add(key)
        if key not in self.table:
            return default
        value = self.table[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        # bool is an int subclass; a port of `true` is a mistake, not 1.
        if isinstance(value, bool) and bool not in kinds:
            raise self.fail(key, f"expected {_kind_name(kinds)}, got {value!r}")
        if not isinstance(value, kinds):
            raise self.fail(key, f"expected {_kind_name(kinds)}, got {value!r}")
        return value

    def sub(self, key: str) -> _Reader:
        self.seen.add(key)
        value = self.table.get(key, {})
        if not isinstance(value, dict):
            raise self.fail(key, "expected a table")
        return _Reader(self.source, value, f"{self.prefix}{key}.")

    def done(self) -> None:
        unknown = sorted(set(self.table) - self.seen)
        if unknown:
            raise self.fail(unknown[0], "unknown setting (see samples/node.toml for the list)")


def _kind_name(kinds: tuple[type, ...]) -> str:
    names = {
        str: "a string",
        int: "an integer",
        float: "a number",
        bool: "true or false",
        dict: "a table",
        list: "a list",
    }
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def _port(r: _Reader, key: str, default: int) -> int:
    value: int = r.get(key, int, default)
    if not 0 <= value <= 65535:
        raise r.fail(key, f"port must be between 0 and 65535, got {value}")
    return value


def parse_config(text: str, *, source: str, data_dir: Path) -> NodeConfig:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{source}: not valid TOML: {e}") from None
    root = _Reader(source, raw)
    server = root.sub("server")
    host = server.get("host", str, "127.0.0.1")
    port = _port(server, "port", 8090)
    sftp_port = _port(server, "sftp_port", 2022)
    public_url = server.get("public_url", str, "") or None
    if public_url and not public_url.startswith(("http://", "https://")):
        raise server.fail("public_url", f"must start with http:// or https://, got {public_url!r}")
    log_level = server.get("log_level", str, "info").lower()
    trusted = server.get("trusted_proxies", list, [])
    if not all(isinstance(x, str) and x for x in trusted):
        raise server.fail("trusted_proxies", 'must be a list of IP addresses, such as ["10.0.0.2"]')
    node_name = server.get("node_name", str, "local")
    if not node_name or ":" in node_name or not node_name.isprintable():
        raise server.fail("node_name", f"must be a plain name without ':', got {node_name!r}")
    if log_level not in ("debug", "info", "warning", "error"):
        raise server.fail("log_level", "must be one of debug, info, warning, error")
    server.done()

    auth_r = root.sub("auth")
    auth = AuthConfig(
        max_clock_skew=auth_r.get("max_clock_skew", int, 900),
        throttle_failures=auth_r.get("throttle_failures", int, 10),
        throttle_window=float(auth_r.get("throttle_window", (int, float), 60.0)),
    )
    if auth.max_clock_skew <= 0:
        raise auth_r.fail("max_clock_skew", "must be a positive number of seconds")
    if auth.throttle_failures < 1:
        raise auth_r.fail("throttle_failures", "must be at least 1")
    if auth.throttle_window <= 0:
        raise auth_r.fail("throttle_window", "must be a positive number of seconds")
    auth_r.done()
    sftp = _sftp(root.sub("sftp"))
    images = parse_images(root.sub("image"))
    sessions = parse_sessions(root.sub("sessions"))

    bootstrap = root.sub("bootstrap")
    admin_email = bootstrap.get("admin_email", str, "admin@bai.local")
    if "@" not in admin_email:
        raise bootstrap.fail("admin_email", f"not an e-mail address: {admin_email!r}")
    bootstrap.done()

    volumes: dict[str, VolumeConfig] = {}
    vol_root = root.sub("volume")
    for name in vol_root.table:
        v = vol_root.sub(name)
        if not name.replace("-", "").replace("_", "").isalnum():
            raise vol_root.fail(name, "volume names may hold letters, digits, '-' and '_' only")
        backend = v.get("backend", str, None)
        if backend is None:
            raise v.fail("backend", f"missing; choose one of {', '.join(BACKENDS)}")
        if backend not in BACKENDS:
            choices = ", ".join(BACKENDS)
            raise v.fail("backend", f"unknown backend {backend!r}; choose one of {choices}")
        path_s = v.get("path", str, None)
        endpoint = v.get("endpoint", str, None)
        shared = v.get("shared", bool, False)
        options = v.get("options", dict, {})
        if backend in ("vfs", "btrfs") and not path_s:
            raise v.fail("path", f"a {backend} volume needs a directory path")
        if backend == "minio" and not endpoint:
            raise v.fail("endpoint", "a minio volume needs the S3 endpoint URL")
        path = None
        if path_s:
            path = Path(path_s)
            path = path if path.is_absolute() else data_dir / path
        elif backend == "minio":
            # A bucket volume still needs a local directory: mount points for sessions and
            # the state of multipart uploads (so an upload resumes after a restart).
            path = data_dir / "volumes" / name
        v.done()
        volumes[name] = VolumeConfig(name, backend, path, endpoint, dict(options), shared=shared)
    if not volumes:
        volumes[DEFAULT_VOLUME] = VolumeConfig(DEFAULT_VOLUME, "vfs", data_dir / "volumes/local")

    storage = root.sub("storage")
    default_host = storage.get("default_host", str, next(iter(volumes)))
    if default_host not in volumes:
        raise storage.fail(
            "default_host", f"names no volume; defined volumes: {', '.join(volumes)}"
        )
    storage.done()
    cluster = _cluster(root.sub("database"), root.sub("node"), data_dir)
    root.done()
    return NodeConfig(
        data_dir=data_dir,
        source=Path(source),
        host=host,
        port=port,
        sftp_port=sftp_port,
        public_url=public_url,
        log_level=log_level,
        node_name=node_name,
        trusted_proxies=tuple(trusted),
        default_host=default_host,
        admin_email=admin_email,
        auth=auth,
        sftp=sftp,
        volumes=volumes,
        images=images,
        sessions=sessions,
        cluster=cluster,
    )


def _cluster(db: _Reader, node: _Reader, data_dir: Path) -> ClusterConfig:
    url = db.get("url", str, "") or None
    if url is not None:
        check_database_url(url, db.fail)
    db.done()
    secret = node.get("secret_file", str, "") or None
    secret_file = None
    if secret is not None:
        secret_file = Path(secret) if Path(secret).is_absolute() else data_dir / secret
    cfg = ClusterConfig(
        database_url=url,
        secret_file=secret_file,
        heartbeat=float(node.get("heartbeat", (int, float), 5.0)),
        down_after=float(node.get("down_after", (int, float), 30.0)),
    )
    if cfg.heartbeat <= 0:
        raise node.fail("heartbeat", "must be a positive number of seconds")
    if cfg.down_after < 2 * cfg.heartbeat:
        raise node.fail("down_after", "must be at least twice the heartbeat interval")
    node.done()
    return cfg


DATABASE_SCHEMES = ("sqlite+aiosqlite://", "postgresql+asyncpg://")


def check_database_url(url: str, fail: Callable[[str, str], ConfigError] | None = None) -> str:
    """A database URL this build can use, or a ConfigError naming the accepted forms (the
    URL's scheme only: the rest may hold a password)."""
    if not url.startswith(DATABASE_SCHEMES):
        what = (
            f"unsupported database URL {url.split('://')[0] + '://…'!r}; use "
            "postgresql+asyncpg://USER:PASSWORD@HOST:PORT/DB (or omit it for SQLite in the "
            "data directory)"
        )
        raise fail("url", what) if fail else ConfigError(f"--database-url: {what}")
    return url


def _sftp(r: _Reader) -> SftpConfig:
    cfg = SftpConfig(
        enabled=r.get("enabled", bool, True),
        idle_timeout=float(r.get("idle_timeout", (int, float), 1800.0)),
        throttle_failures=r.get("throttle_failures", int, 5),
        throttle_window=float(r.get("throttle_window", (int, float), 300.0)),
    )
    if cfg.idle_timeout <= 0:
        raise r.fail("idle_timeout", "must be a positive number of seconds")
    if cfg.throttle_failures < 1:
        raise r.fail("throttle_failures", "must be at least 1")
    if cfg.throttle_window <= 0:
        raise r.fail("throttle_window", "must be a positive number of seconds")
    r.done()
    return cfg


def load_config(data_dir: Path, config_path: Path | None) -> NodeConfig:
    """The explicit file, else `DATA/node.toml` if present, else the built-in defaults."""
    path = config_path or (data_dir / "node.toml")
    if config_path is not None and not path.is_file():
        raise ConfigError(f"{path}: no such file; pass an existing node.toml to --config")
    text = path.read_text() if path.is_file() else DEFAULT_NODE_TOML
    return parse_config(text, source=str(path), data_dir=data_dir)


# ---- compute sessions: images and limits ------------------------------------------------------


@dataclass(frozen=True)
class ImageConfig:
    """`[image."NAME"]`: a read-only root filesystem a session runs in, and its defaults."""

    name: str
    rootfs: Path
    query: tuple[str, ...] = ("/bin/sh", "-c")  # what runs a query-mode snippet (code last)
    network: bool = False  # sessions share the host's network only when an image says so
    cpu: float | None = None  # cores
    memory: int | None = None  # bytes
    pids: int | None = None
    environ: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SessionsConfig:
    """`[sessions]`: bounds on compute sessions."""

    max_per_keypair: int = 16  # live sessions of one access key
    log_bytes: int = 1 << 20  # console log kept per session (the oldest output is dropped)


def parse_images(r: _Reader) -> dict[str, ImageConfig]:
    images: dict[str, ImageConfig] = {}
    for name in r.table:
        img = r.sub(name)
        rootfs = img.get("rootfs", str, None)
        if not rootfs or not Path(rootfs).is_absolute():
            raise img.fail("rootfs", 'needs the absolute path of a root filesystem, such as "/"')
        query = img.get("query", list, ["/bin/sh", "-c"])
        if not query or not all(isinstance(q, str) and q for q in query):
            raise img.fail("query", 'must be a command as a list, such as ["python3", "-c"]')
        cpu = img.get("cpu", (int, float), None)
        if cpu is not None and cpu <= 0:
            raise img.fail("cpu", "must be a positive number of cores")
        memory = img.get("memory", (int, str), None)
        pids = img.get("pids", int, None)
        if pids is not None and pids < 1:
            raise img.fail("pids", "must be at least 1")
        environ = img.get("environ", dict, {})
        if not all(isinstance(v, str) for v in environ.values()):
            raise img.fail("environ", "values must be strings")
        try:
            mem = _size(memory) if memory is not None else None
        except ValueError as e:
            raise img.fail("memory", str(e)) from None
        images[name] = ImageConfig(
            name=name,
            rootfs=Path(rootfs),
            query=tuple(query),
            network=img.get("network", bool, False),
            cpu=float(cpu) if cpu is not None else None,
            memory=mem,
            pids=pids,
            environ=dict(environ),
        )
        img.done()
    return images


def parse_sessions(r: _Reader) -> SessionsConfig:
    cfg = SessionsConfig(
        max_per_keypair=r.get("max_per_keypair", int, 16),
        log_bytes=r.get("log_bytes", int, 1 << 20),
    )
    if cfg.max_per_keypair < 1:
        raise r.fail("max_per_keypair", "must be at least 1")
    if cfg.log_bytes < 1024:
        raise r.fail("log_bytes", "must be at least 1024")
    r.done()
    return cfg


def _size(value: int | str) -> int:
    try:
        n = parse_size(value)
    except InvalidRequest as e:
        raise ValueError(e.msg) from None
    if n <= 0:
        raise ValueError("must be a positive size, such as 512m or 2g")
    return n
