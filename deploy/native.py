"""Run the production configuration natively, run a command against it, stop everything.

    python deploy/native.py -- pytest tests/smoke      (what `nox -s smoke` does)
    python deploy/native.py -- sleep infinity          (poke at it by hand; Ctrl-C stops it)

No Docker: the three services under gunicorn with deploy/gunicorn.conf.py, nginx with
deploy/nginx/templates/default.conf.template rendered for local addresses, PostgreSQL and Redis
from the environment, a real SMTP server on loopback (deploy/smtp_sink.py) and auth's mail
worker (`flask send-mail`) sending to it. It needs `gunicorn`, `flask`, `aiosmtpd` and the
three packages importable (run it in the nox session's virtualenv) and `nginx` on PATH.

    SMOKE_DATABASE_URL   a PostgreSQL superuser URL (postgresql://postgres@127.0.0.1:5432/postgres)
    SMOKE_REDIS_URL      a Redis database that may be emptied (redis://127.0.0.1:6379/14)
    SMOKE_PORTS          auth,blog,api,gateway ports on 127.0.0.1 (18001,18002,18003,18080)
    SMOKE_SERVICES       the services to start (auth,blog,api); the others answer 502
    SMOKE_BLOG_REPLICAS  how many blog servers to start (1): separate gunicorn masters on their
                         own ports and instance folders, sharing only the databases and Redis;
                         the gateway spreads requests over them (an nginx upstream group).
                         Their ports follow the gateway's in SMOKE_PORTS, or the system picks.
    SMOKE_SERVER_NAMES   the host names the gateway answers to ("localhost 127.0.0.1"); others: 421
    SMOKE_KEEP_LOGS      set: keep the work folder and its logs even when all went well
    SMOKE_OWN_REDIS      1: start a private redis-server instead of using SMOKE_REDIS_URL (below)
    SMOKE_OWN_REDIS_PORT its port (default: the gateway port + 1000, or any free port)
    SMOKE_OWN_POSTGRES   1: start a private PostgreSQL cluster instead of SMOKE_DATABASE_URL's
    SMOKE_OWN_POSTGRES_PORT its port (default: the gateway port + 2000, or any free port)
    NGINX_CLIENT_RATE, NGINX_CLIENT_BURST, NGINX_STATIC_RATE, NGINX_STATIC_BURST,
    NGINX_CLIENT_CONNECTIONS, NGINX_HEADER_TIMEOUT, NGINX_BODY_TIMEOUT
                         the gateway's per-client limits (GATEWAY_LIMITS below: the defaults,
                         the same as compose.yaml's)

Every run creates its own databases (smoke_<random>_<service>) and drops them at the end; the
Redis database is emptied before and after. The command gets SMOKE_BASE_URL (the gateway),
SMOKE_LOG_DIR (one log file per process), SMOKE_GUNICORN_PIDS (service=master pid, ...; extra
blog replicas are blog-2, blog-3...), SMOKE_BLOG_URLS (each blog replica's own address, comma
separated), SMOKE_SERVICE_PORTS (service=gunicorn port, ..., on 127.0.0.1 only),
SMOKE_ADMIN_USERNAME / SMOKE_ADMIN_PASSWORD (an admin created with auth's create-admin),
SMOKE_MAIL_DIR (every email the SMTP server accepted, one .eml file each) and SMOKE_SMTP_PID
(the SMTP server's pid: a test may freeze it to see delivery wait and resume). nginx keeps its
cover image cache in the work folder.
Whatever happens, every process started here is stopped (SIGTERM to its process group, then
SIGKILL) and the databases are dropped.

A private Redis (SMOKE_OWN_REDIS=1) is for tests that freeze, kill or restart Redis: the
shared one must never be frozen. It runs from the work folder with no persistence at all (no
RDB, no AOF: like a production cache, a restart comes back empty), and every service uses it.
The command then also gets:

    SMOKE_REDIS_URL      the private server (redis://127.0.0.1:<port>/0)
    SMOKE_REDIS_PID      its pid, for SIGSTOP / SIGCONT / SIGKILL
    SMOKE_REDIS_PIDFILE  the file the server writes its pid into (a restarted one too)
    SMOKE_REDIS_RESTART  the shell command that starts it again after a kill, same port and
                         configuration, detached; its new pid is then in SMOKE_REDIS_PIDFILE

tests/smoke/support.py (OwnRedis) wraps these. A restarted server is stopped at the end as well.

A private PostgreSQL (SMOKE_OWN_POSTGRES=1) is for tests that restart or stop the database: a
cluster made with initdb in the work folder (trust authentication on loopback, run as the
`postgres` user when we are root, since PostgreSQL refuses to run as root), started with
pg_ctl and removed at the end. The command then also gets:

    SMOKE_DATABASE_URL      its superuser URL (postgresql://postgres@127.0.0.1:<port>/postgres)
    SMOKE_POSTGRES_PID      the postmaster's pid (SIGSTOP / SIGKILL); after a restart, read
                            the first line of SMOKE_POSTGRES_PIDFILE instead
    SMOKE_POSTGRES_PIDFILE  the cluster's postmaster.pid
    SMOKE_POSTGRES_RESTART  the shell command that restarts it (fast shutdown, then start; it
                            waits until the server accepts connections again)
"""

from __future__ import annotations

import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from contextlib import ExitStack, suppress
from pathlib import Path
from typing import IO

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from init_secrets import ensure_signing_key, new_totp_key, write_once  # noqa: E402  (a sibling script, not a package)

#: Every service the gateway routes to; SMOKE_SERVICES=auth,blog starts only some (while one
#: is being built); the others then answer 502 through the gateway.
SERVICES = ("auth", "blog", "api")
STARTED = tuple(s for s in os.environ.get("SMOKE_SERVICES", ",".join(SERVICES)).split(",") if s)
TEMPLATE = HERE / "nginx" / "templates" / "default.conf.template"
GUNICORN_CONF = HERE / "gunicorn.conf.py"
MAX_CONTENT_LENGTH = str(8 * 1024 * 1024)
#: The gateway's self-protection settings and their defaults (compose.yaml has the same).
GATEWAY_LIMITS = {
    "NGINX_CLIENT_RATE": "20r/s",
    "NGINX_CLIENT_BURST": "100",
    "NGINX_STATIC_RATE": "200r/s",
    "NGINX_STATIC_BURST": "400",
    "NGINX_CLIENT_CONNECTIONS": "32",
    "NGINX_HEADER_TIMEOUT": "10s",
    "NGINX_BODY_TIMEOUT": "15s",
}


def gateway_limits() -> dict[str, str]:
    """The gateway's limit settings: from the environment, else GATEWAY_LIMITS's defaults."""
    return {name: os.environ.get(name) or value for name, value in GATEWAY_LIMITS.items()}


#: Connections per nginx worker: thousands of idle ones must fit beside the real clients
#: (deploy/nginx/nginx.conf has the same for the image).
NGINX_WORKER_CONNECTIONS = 8192


def log(message: str) -> None:
    print(f"native: {message}", file=sys.stderr, flush=True)


def envsubst(text: str, variables: dict[str, str]) -> str:
    """What the nginx image's envsubst step does: replace ${NAME} / $NAME of known names only."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        return variables.get(name, match.group(0))

    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)", replace, text)


def local_resolvers() -> str:
    """The nameservers of /etc/resolv.conf, as the nginx image computes NGINX_LOCAL_RESOLVERS."""
    try:
        lines = Path("/etc/resolv.conf").read_text().splitlines()
    except OSError:
        lines = []
    servers = [line.split()[1] for line in lines if line.startswith("nameserver ")]
    servers = [f"[{s}]" if ":" in s else s for s in servers]
    return " ".join(servers) or "127.0.0.1"


def free_port(preferred: int = 0) -> int:
    """``preferred`` if nothing listens on it now, else a port chosen by the system."""
    for port in (preferred, 0) if preferred else (0,):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            chosen: int = probe.getsockname()[1]
            return chosen
    raise RuntimeError("no free port on 127.0.0.1")


def nginx_main_conf(workdir: Path, site: Path, upstreams: str = "") -> str:
    """A minimal nginx.conf like the image's, with every writable path under ``workdir``."""
    temp = workdir / "nginx-temp"
    temp.mkdir()
    # nginx workers (nobody, when started as root) write large request bodies here.
    temp.chmod(0o1777)
    mime = "/etc/nginx/mime.types"
    # One worker per core nginx may use: the bench runs every server on one core of two, where
    # two workers would only take turns (NGINX_WORKER_PROCESSES; 2 otherwise, as on 2 cores).
    workers = os.environ.get("NGINX_WORKER_PROCESSES") or "2"
    return f"""
worker_processes {workers};
worker_rlimit_nofile {NGINX_WORKER_CONNECTIONS * 2};
pid {workdir / "nginx.pid"};
error_log /dev/stderr notice;
events {{ worker_connections {NGINX_WORKER_CONNECTIONS}; }}
http {{
    {"include " + mime + ";" if Path(mime).exists() else ""}
    default_type application/octet-stream;
    sendfile on;
    client_body_temp_path {temp / "body"};
    proxy_temp_path {temp / "proxy"};
    fastcgi_temp_path {temp / "fastcgi"};
    uwsgi_temp_path {temp / "uwsgi"};
    scgi_temp_path {temp / "scgi"};
    {upstreams}
    include {site};
}}
"""


class PrivateRedis:
    """A redis-server of this run only (SMOKE_OWN_REDIS=1): tests may freeze, kill, restart it."""

    def __init__(self, workdir: Path, port: int) -> None:
        self.port = port
        self.folder = workdir / "redis"
        self.folder.mkdir()
        self.config = self.folder / "redis.conf"
        self.pidfile = self.folder / "redis.pid"
        # No persistence: `save ""` turns RDB snapshots off, appendonly no the AOF. A restart
        # starts empty, which is exactly what the services must survive.
        self.config.write_text(
            f"""port {port}
bind 127.0.0.1
protected-mode yes
save ""
appendonly no
dir {self.folder}
pidfile {self.pidfile}
logfile {workdir / "logs" / "redis.log"}
"""
        )

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def command(self) -> list[str]:
        return [shutil.which("redis-server") or "/usr/bin/redis-server", str(self.config)]

    def restart_command(self) -> str:
        """A shell command that starts it again, detached (the caller need not wait for it)."""
        return shlex.join([*self.command(), "--daemonize", "yes"])

    def wait_ready(self, timeout: float = 10) -> None:
        import redis

        client = redis.Redis.from_url(self.url, socket_timeout=1, socket_connect_timeout=1)
        deadline = time.monotonic() + timeout
        while True:
            try:
                client.ping()
                return
            except redis.RedisError as error:
                if time.monotonic() > deadline:
                    message = f"the private redis-server on {self.port} never answered"
                    raise RuntimeError(message) from error
                time.sleep(0.1)

    def stop_restarted(self) -> None:
        """Stop a server a test restarted (not our child): the pid in its pidfile, if ours."""
        try:
            pid = int(self.pidfile.read_text().strip())
            # redis-server rewrites its command line, but it works in its `dir`: our folder.
            cwd = Path(f"/proc/{pid}/cwd").readlink()
        except (OSError, ValueError):
            return
        if cwd != self.folder:  # the pid was reused by someone else
            return
        for signum in (signal.SIGCONT, signal.SIGKILL):  # a frozen server ignores SIGTERM
            with suppress(ProcessLookupError):
                os.kill(pid, signum)
        log(f"stopped the restarted redis-server (pid {pid})")


def postgres_binaries() -> Path:
    """PG_BIN, else the newest /usr/lib/postgresql/<major>/bin (Debian 12: 15, Ubuntu 24.04: 16)."""
    if os.environ.get("PG_BIN"):
        return Path(os.environ["PG_BIN"])
    majors = [
        p.parent for p in Path("/usr/lib/postgresql").glob("*/bin") if p.parent.name.isdigit()
    ]
    newest = max(
        majors, key=lambda folder: int(folder.name), default=Path("/usr/lib/postgresql/15")
    )
    return newest / "bin"


PG_BIN = postgres_binaries()


class PrivatePostgres:
    """A PostgreSQL cluster of this run only (SMOKE_OWN_POSTGRES=1): tests may restart it."""

    def __init__(self, workdir: Path, port: int) -> None:
        self.port = port
        self.folder = workdir / "postgres"
        self.data = self.folder / "data"
        self.folder.mkdir()
        # PostgreSQL refuses to run as root: then the cluster belongs to the postgres user.
        self.as_user: list[str] = []
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
            self.as_user = ["runuser", "-u", "postgres", "--"]

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    @property
    def pidfile(self) -> Path:
        return self.data / "postmaster.pid"

    def _pg_ctl(self, *args: str) -> list[str]:
        return [*self.as_user, str(PG_BIN / "pg_ctl"), "-D", str(self.data), *args]

    def start(self) -> None:
        initdb = [str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres"]
        initdb += ["--auth=trust", "--encoding=UTF8", "--no-sync"]
        subprocess.run([*self.as_user, *initdb], check=True, stdout=subprocess.DEVNULL)  # noqa: S603 - our own argv
        # Enough connections for 3 services x 2 workers x their pools, plus the tests'.
        # fsync=off: only an operating-system crash could lose a write, and none is simulated
        # (a killed or restarted server keeps everything it acknowledged).
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.folder} "
            "-c max_connections=200 -c fsync=off -c shared_buffers=64MB"
        )
        log_file = self.folder / "postgres.log"
        subprocess.run(  # noqa: S603 - our own argv
            self._pg_ctl("start", "-w", "-t", "60", "-l", str(log_file), "-o", options),
            check=True,
            stdout=subprocess.DEVNULL,
        )

    def pid(self) -> int:
        return int(self.pidfile.read_text().split()[0])

    def restart_command(self) -> str:
        """Fast shutdown and start again with the same options; waits until it accepts."""
        return shlex.join(self._pg_ctl("restart", "-m", "fast", "-w", "-t", "60"))

    def stop(self) -> None:
        subprocess.run(  # noqa: S603 - our own argv
            self._pg_ctl("stop", "-m", "immediate", "-w"),
            check=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        log("stopped the private PostgreSQL")


class Stack:
    """The processes and databases of one run."""

    def __init__(
        self,
        workdir: Path,
        ports: dict[str, int],
        database_url: str,
        redis_url: str,
        blog_ports: list[int] | None = None,
    ):
        self.workdir = workdir
        self.logs = workdir / "logs"
        self.logs.mkdir()
        self.ports = ports
        #: Every blog replica's port, the first one being ports["blog"] (none: the bench uses a
        #: Stack for its process handling only, with no services of its own).
        self.blog_ports = blog_ports or ([ports["blog"]] if "blog" in ports else [])
        # One key per service, shared by its replicas: a form one replica sent validates on
        # another (CSRF tokens and session cookies are signed with it).
        self.secret_keys = {service: secrets.token_urlsafe(48) for service in SERVICES}
        self.database_url = database_url
        self.redis_url = redis_url
        self.run_id = secrets.token_hex(4)
        self.databases = {name: f"smoke_{self.run_id}_{name}" for name in STARTED}
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.mail_dir = workdir / "mail"
        self.smtp_port = 0  # known once the SMTP server listens (start_smtp)
        self.log_files: list[IO[bytes]] = []
        self.own_redis: PrivateRedis | None = None
        self.own_postgres: PrivatePostgres | None = None

    # --- databases -------------------------------------------------------------------------
    def _admin(self, *statements: str) -> None:
        import psycopg

        with psycopg.connect(self.database_url, autocommit=True) as connection:
            for statement in statements:
                connection.execute(statement)  # type: ignore[arg-type]

    def create_databases(self) -> None:
        self._admin(*(f'CREATE DATABASE "{db}"' for db in self.databases.values()))
        log(f"created databases {', '.join(self.databases.values())}")

    def drop_databases(self) -> None:
        if self.own_postgres is not None:  # the whole private cluster is stopped and removed
            return
        try:
            drops = (
                f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)' for db in self.databases.values()
            )
            self._admin(*drops)
            log("dropped the databases")
        except Exception as error:  # teardown goes on whatever fails
            log(f"could not drop the databases: {error}")

    def database_url_for(self, service: str) -> str:
        base = self.database_url.rsplit("/", 1)[0]
        return f"{base}/{self.databases[service]}"

    def flush_redis(self) -> None:
        import redis

        if self.own_redis is None:  # a private server starts empty and is gone afterwards
            redis.Redis.from_url(self.redis_url).flushdb()

    def start_own_postgres(self, port: int) -> None:
        self.own_postgres = PrivatePostgres(self.workdir, port)
        self.own_postgres.start()
        self.database_url = self.own_postgres.url

    def start_own_redis(self, port: int) -> None:
        self.own_redis = PrivateRedis(self.workdir, port)
        self.redis_url = self.own_redis.url
        self.start("redis", self.own_redis.command())
        self.own_redis.wait_ready()

    # --- configuration ---------------------------------------------------------------------
    def service_env(self, service: str, replica: int = 1) -> dict[str, str]:
        """The production settings of one service, prefixed so a developer's shell cannot win.

        ``replica`` (blog only) picks the port and a separate instance folder: replicas share
        no disk.
        """
        prefix = service.upper()
        name = service if replica == 1 else f"{service}-{replica}"
        instance = self.workdir / "instance" / name
        instance.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        env.update(
            {
                "APP_ENV": "production",
                f"{prefix}_SECRET_KEY": self.secret_keys[service],
                f"{prefix}_DATABASE_URL": self.database_url_for(service),
                f"{prefix}_INSTANCE_PATH": str(instance),
                f"{prefix}_RATELIMIT_STORAGE_URI": self.redis_url,
                f"{prefix}_REVOCATION_STORE_URI": self.redis_url,
                f"{prefix}_TRUSTED_PROXIES": "1",
                # plain http on loopback: a Secure cookie would never come back
                f"{prefix}_SECURE_COOKIES": "false",
                f"{prefix}_MAX_CONTENT_LENGTH": MAX_CONTENT_LENGTH,
                # gunicorn.conf.py binds loopback unless told otherwise: only the gateway,
                # on the same machine, can reach a service.
                "PORT": str(self.port_of(service, replica)),
                "WEB_CONCURRENCY": "2",
                "FORWARDED_ALLOW_IPS": "127.0.0.1",
                "APP_MODULE": f"{service}_service",
                "PYTHONUNBUFFERED": "1",
            }
        )
        jwks = f"http://127.0.0.1:{self.ports['auth']}/.well-known/jwks.json"
        if service == "auth":
            keys = self.workdir / "signing-keys"
            ensure_signing_key(keys)
            env["AUTH_SIGNING_KEY_FILE"] = str(keys)
            totp_key = self.workdir / "totp_key"
            write_once(totp_key, new_totp_key())
            env["AUTH_TOTP_KEY_FILE"] = str(totp_key)
            env.update(self.mail_env())
        else:
            env[f"{prefix}_AUTH_JWKS_URL"] = jwks
        return env

    def port_of(self, service: str, replica: int = 1) -> int:
        return self.blog_ports[replica - 1] if service == "blog" else self.ports[service]

    def mail_env(self) -> dict[str, str]:
        """auth's mail settings: the loopback SMTP server, links to the gateway, quick retries."""
        return {
            "AUTH_PUBLIC_URL": f"http://127.0.0.1:{self.ports['gateway']}",
            "AUTH_MAIL_TRANSPORT": "smtp",
            "AUTH_MAIL_SMTP_HOST": "127.0.0.1",
            "AUTH_MAIL_SMTP_PORT": str(self.smtp_port),
            "AUTH_MAIL_SMTP_SECURITY": "none",  # loopback only
            "AUTH_MAIL_SMTP_TIMEOUT": "3",
            # A test that stops the SMTP server waits seconds, not minutes, for the retry.
            "AUTH_MAIL_RETRY_SECONDS": "1",
            "AUTH_MAIL_POLL_SECONDS": "1",
        }

    def render_nginx(self) -> Path:
        site = self.workdir / "gateway.conf"
        image_cache = self.workdir / "image-cache"
        # The template keeps the blog's page micro-cache beside it, in "<path>-pages".
        for cache in (image_cache, self.workdir / "image-cache-pages"):
            cache.mkdir()
            cache.chmod(0o1777)  # written by nginx's workers (nobody, when started as root)
        variables = {
            "NGINX_LISTEN": f"127.0.0.1:{self.ports['gateway']}",
            "NGINX_LOCAL_RESOLVERS": local_resolvers(),
            "MAX_CONTENT_LENGTH": MAX_CONTENT_LENGTH,
            "NGINX_IMAGE_CACHE_PATH": str(image_cache),
            "NGINX_IMAGE_CACHE_SIZE": "64m",
            # The names a local client uses; any other Host is refused by the gateway.
            "NGINX_SERVER_NAMES": os.environ.get("SMOKE_SERVER_NAMES") or "localhost 127.0.0.1",
            "NGINX_PUBLIC_PORT": str(self.ports["gateway"]),
            **gateway_limits(),
            **{f"{s.upper()}_UPSTREAM": f"127.0.0.1:{self.ports[s]}" for s in SERVICES},
        }
        upstreams = ""
        if len(self.blog_ports) > 1:
            # The template's `proxy_pass http://$upstream` uses an upstream group of that name
            # before asking DNS: the gateway spreads blog requests over every replica.
            # max_fails=0: a replica that refused a connection while starting is tried again at
            # once (the request moving to the other), not shunned for fail_timeout; with both
            # shunned nginx answers 502 "no live upstreams" although both are up by then.
            servers = " ".join(f"server 127.0.0.1:{port} max_fails=0;" for port in self.blog_ports)
            upstreams = f"upstream blog_replicas {{ {servers} }}"
            variables["BLOG_UPSTREAM"] = "blog_replicas"
        site.write_text(envsubst(TEMPLATE.read_text(), variables))
        main = self.workdir / "nginx.conf"
        main.write_text(nginx_main_conf(self.workdir, site, upstreams))
        return main

    # --- processes -------------------------------------------------------------------------
    def run_once(self, service: str, *args: str) -> None:
        """A one-off command (migrations, create-admin) with the service's environment."""
        command = [sys.executable, "-m", "flask", "--app", f"{service}_service", *args]
        log(f"{service}: flask {' '.join(args[:2])}")
        subprocess.run(command, env=self.service_env(service), check=True, cwd=self.workdir)  # noqa: S603 - our own argv, no shell

    def start(self, name: str, command: list[str], env: dict[str, str] | None = None) -> None:
        output = (self.logs / f"{name}.log").open("ab")
        self.log_files.append(output)
        # Its own session (process group): stop() signals gunicorn's master and workers at once.
        self.processes[name] = subprocess.Popen(  # noqa: S603 - our own argv, no shell
            command,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=self.workdir,
        )
        log(f"started {name} (pid {self.processes[name].pid})")

    def start_smtp(self, timeout: float = 15) -> None:
        """The SMTP server on a free loopback port; waits until it listens."""
        port_file = self.workdir / "smtp.port"
        sink = [sys.executable, str(HERE / "smtp_sink.py"), str(self.mail_dir), str(port_file)]
        self.start("smtp", sink)
        deadline = time.monotonic() + timeout
        while not port_file.exists() or not port_file.read_text().strip():
            if self.processes["smtp"].poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the SMTP server did not start:\n{self.tail('smtp')}")
            time.sleep(0.1)
        self.smtp_port = int(port_file.read_text())
        log(f"SMTP server on 127.0.0.1:{self.smtp_port}")

    def start_mail_worker(self) -> None:
        """auth's outbox sender, the worker compose runs as `auth-mail`."""
        if "auth" in STARTED:
            worker = [sys.executable, "-m", "flask", "--app", "auth_service", "send-mail"]
            self.start("auth-mail", worker, self.service_env("auth"))

    def start_services(self) -> None:
        gunicorn = [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF)]
        for service in STARTED:
            self.start(service, gunicorn, self.service_env(service))
        if "blog" in STARTED:
            for replica in range(2, len(self.blog_ports) + 1):
                self.start(f"blog-{replica}", gunicorn, self.service_env("blog", replica))

    def blog_urls(self) -> list[str]:
        """Each blog replica's own address (not through the gateway)."""
        return [f"http://127.0.0.1:{port}" for port in self.blog_ports]

    def start_gateway(self) -> None:
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        main = self.render_nginx()
        subprocess.run([nginx, "-t", "-q", "-c", str(main), "-p", str(self.workdir)], check=True)  # noqa: S603 - our own argv, no shell
        self.start(
            "gateway", [nginx, "-c", str(main), "-p", str(self.workdir), "-g", "daemon off;"]
        )

    def wait_ready(self, timeout: float = 90) -> None:
        base = f"http://127.0.0.1:{self.ports['gateway']}"
        paths = {"blog": "/readyz", "auth": "/auth/readyz", "api": "/api/readyz"}
        pending = {name: base + paths[name] for name in STARTED}
        if "blog" in STARTED:  # each replica, directly: the gateway would hide one that is down
            for replica, url in enumerate(self.blog_urls(), start=1):
                pending[f"blog-{replica}"] = f"{url}/readyz"
        deadline = time.monotonic() + timeout
        while pending:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(
                        f"{name} exited with {process.returncode}:\n{self.tail(name)}"
                    )
            for name, url in list(pending.items()):
                try:
                    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310
                        if response.status == 200:
                            del pending[name]
                            log(f"{name} ready at {url}")
                except (urllib.error.URLError, OSError):
                    pass
            if pending and time.monotonic() > deadline:
                raise RuntimeError(f"not ready after {timeout}s: {', '.join(pending)}")
            if pending:
                time.sleep(0.5)

    def tail(self, name: str, lines: int = 40) -> str:
        path = self.logs / f"{name}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                with suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
                    # A test may have left it frozen (SIGSTOP): SIGTERM waits for SIGCONT.
                    os.killpg(process.pid, signal.SIGCONT)
        deadline = time.monotonic() + 30
        for name, process in self.processes.items():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log(f"{name} did not stop on SIGTERM: SIGKILL")
            # Whatever is left in the group (a worker whose master died first): gone.
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        if self.own_redis is not None:
            self.own_redis.stop_restarted()
        if self.own_postgres is not None:
            self.own_postgres.stop()
        for output in self.log_files:
            output.close()
        log("stopped every process")


def main(argv: list[str]) -> int:
    command = argv[argv.index("--") + 1 :] if "--" in argv else argv[1:]
    if not command:
        print(__doc__, file=sys.stderr)
        return 2
    ports_list = [
        int(p) for p in os.environ.get("SMOKE_PORTS", "18001,18002,18003,18080").split(",")
    ]
    ports = dict(zip((*SERVICES, "gateway"), ports_list[:4], strict=True))
    replicas = int(os.environ.get("SMOKE_BLOG_REPLICAS") or "1")
    extra_ports = ports_list[4:] + [free_port() for _ in range(replicas - 1 - len(ports_list[4:]))]
    blog_ports = [ports["blog"], *extra_ports[: replicas - 1]]
    database_url = os.environ.get(
        "SMOKE_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
    )
    redis_url = os.environ.get("SMOKE_REDIS_URL", "redis://127.0.0.1:6379/14")
    keep = os.environ.get("SMOKE_KEEP_LOGS")
    workdir = Path(tempfile.mkdtemp(prefix="smoke-"))
    # nginx's workers (nobody, when started as root) must reach nginx-temp/ for large bodies.
    workdir.chmod(0o711)
    stack = Stack(workdir, ports, database_url, redis_url, blog_ports)
    status = 1
    with ExitStack() as cleanup:
        # Registered first, so it runs last: the log folder survives a failure for reading.
        cleanup.callback(
            lambda: (
                shutil.rmtree(workdir, ignore_errors=True)
                if status == 0 and not keep
                else log(f"logs kept in {stack.logs}")
            )
        )
        cleanup.callback(stack.flush_redis)
        cleanup.callback(stack.drop_databases)
        cleanup.callback(stack.stop)
        if os.environ.get("SMOKE_OWN_REDIS") == "1":
            own_port = os.environ.get("SMOKE_OWN_REDIS_PORT") or str(ports["gateway"] + 1000)
            stack.start_own_redis(free_port(int(own_port)))
            log(f"private redis-server on {stack.redis_url}")
        if os.environ.get("SMOKE_OWN_POSTGRES") == "1":
            own_port = os.environ.get("SMOKE_OWN_POSTGRES_PORT") or str(ports["gateway"] + 2000)
            stack.start_own_postgres(free_port(int(own_port)))
            log(f"private PostgreSQL on {stack.database_url}")
        stack.flush_redis()
        stack.start_smtp()
        stack.create_databases()
        for service in STARTED:
            stack.run_once(service, "db", "upgrade")
        admin_password = secrets.token_urlsafe(18)
        stack.run_once(
            "auth",
            "create-admin",
            "--username",
            "smoke-admin",
            "--email",
            "smoke-admin@example.com",
            "--password",
            admin_password,
        )
        stack.start_services()
        stack.start_mail_worker()
        stack.start_gateway()
        try:
            stack.wait_ready()
        except RuntimeError:
            for name in stack.processes:
                log(f"--- {name} ---\n{stack.tail(name)}")
            raise
        env = dict(os.environ)
        env.update(
            {
                "SMOKE_BASE_URL": f"http://127.0.0.1:{ports['gateway']}",
                "SMOKE_LOG_DIR": str(stack.logs),
                "SMOKE_GUNICORN_PIDS": ",".join(
                    f"{name}={process.pid}"
                    for name, process in stack.processes.items()
                    if name not in {"gateway", "smtp", "auth-mail"}  # gunicorn masters only
                ),
                "SMOKE_BLOG_URLS": ",".join(stack.blog_urls()),
                "SMOKE_SERVICE_PORTS": ",".join(f"{s}={ports[s]}" for s in STARTED),
                "SMOKE_ADMIN_USERNAME": "smoke-admin",
                "SMOKE_ADMIN_PASSWORD": admin_password,
                "SMOKE_MAIL_DIR": str(stack.mail_dir),
                "SMOKE_SMTP_PID": str(stack.processes["smtp"].pid),
            }
        )
        if stack.own_postgres is not None:
            env.update(
                {
                    "SMOKE_DATABASE_URL": stack.database_url,
                    "SMOKE_POSTGRES_PID": str(stack.own_postgres.pid()),
                    "SMOKE_POSTGRES_PIDFILE": str(stack.own_postgres.pidfile),
                    "SMOKE_POSTGRES_RESTART": stack.own_postgres.restart_command(),
                }
            )
        if stack.own_redis is not None:
            env.update(
                {
                    "SMOKE_REDIS_URL": stack.redis_url,
                    "SMOKE_REDIS_PID": str(stack.processes["redis"].pid),
                    "SMOKE_REDIS_PIDFILE": str(stack.own_redis.pidfile),
                    "SMOKE_REDIS_RESTART": stack.own_redis.restart_command(),
                }
            )
        log(f"gateway on {env['SMOKE_BASE_URL']}: running {' '.join(command)}")
        result = subprocess.run(command, env=env, check=False)  # noqa: S603 - our own argv, no shell
        status = result.returncode
        if status != 0:
            for name in stack.processes:
                log(f"--- last lines of {name} ---\n{stack.tail(name, 25)}")
    return status


def _terminate(_signum: int, _frame: object) -> None:
    # nox or CI stopping us: unwind through the cleanup, like Ctrl-C does.
    raise KeyboardInterrupt


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _terminate)
    try:
        sys.exit(main(sys.argv))
    except KeyboardInterrupt:
        sys.exit(130)
