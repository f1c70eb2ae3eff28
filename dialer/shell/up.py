"""`dialer up`: the whole service on one machine (docs/design.md §2).

An embedded redis-server with AOF under DATA_DIR, migrations, the simulator when no MTT login
is configured, the API and one worker, all wired through one environment. The parts run as
child processes of this interpreter (`dialer.shell.cli` subcommands), so dialer/ imports nothing of
the layers above. Secrets it generates live in DATA_DIR/secrets.json, so a second `dialer up`
keeps the API key and the webhook token, and resumes unfinished campaigns from the database.
One `dialer up` at a time holds DATA_DIR, which only its owner can read (`dialer.shell.data_dir`).
"""

from __future__ import annotations

import os
import secrets
import signal
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Annotated
from urllib.parse import urlsplit, urlunsplit

import typer
from rich.console import Console

from dialer.settings import Settings
from dialer.shell import local_secrets
from dialer.shell.api_client import local_url
from dialer.shell.children import Child, ChildExited, Interrupted, dialer_command, wait_healthy
from dialer.shell.data_dir import DataDirBusy, lock_for_up, make_private, private_files
from dialer.shell.redis_server import RedisServer, RedisServerError, free_port

SIMULATOR_LOGIN = "simulator"
MIGRATE_TIMEOUT = 120.0
READY_TIMEOUT = 60.0
CHILD_STOP_TIMEOUT = 15.0
WORKER_STOP_TIMEOUT = 40.0
"""The worker lets running dial jobs finish (one sb-api request and its retries)."""


@dataclass(frozen=True)
class UpOptions:
    """Knobs of `dialer up` beyond the settings; the simulator ones apply without MTT."""

    simulator_port: int | None = None
    simulator_time_factor: float = 0.1
    simulator_seed: int = 0
    simulator_rules: Path | None = None


@dataclass(frozen=True)
class Wiring:
    """The environment every child shares, and what `dialer up` tells the operator."""

    env: dict[str, str]
    api_url: str
    event_url: str
    simulator_url: str | None
    generated_key: str | None
    """The API key when it comes from secrets.json (none configured), else None."""


def wire(
    settings: Settings,
    stored: local_secrets.LocalSecrets,
    *,
    base_env: Mapping[str, str],
    redis_url: str,
    simulator_port: int | None,
    simulator_password: str,
) -> Wiring:
    """The environment of the children: one set of values every process agrees on (pure)."""
    data_dir = settings.data_dir.resolve()
    env = {**base_env, "PYTHONUNBUFFERED": "1"}
    env |= {
        "DIALER_DATA_DIR": str(data_dir),
        "DIALER_DATABASE_URL": replace_data_dir(settings, data_dir).database,
        "DIALER_REDIS_URL": redis_url,
        "DIALER_HOST": settings.host,
        "DIALER_PORT": str(settings.port),
    }
    generated_key = None
    if not settings.api_keys:
        generated_key = stored.api_key.get_secret_value()
        env["DIALER_API_KEYS"] = generated_key
    token = settings.webhook_token.get_secret_value() or stored.webhook_token.get_secret_value()
    env["DIALER_WEBHOOK_TOKEN"] = token
    api_url = local_url(settings)
    simulator_url = None
    public_url = settings.public_url
    if simulator_port is not None:
        simulator_url = f"http://127.0.0.1:{simulator_port}"
        public_url = api_url
        env |= {
            "DIALER_SB_LOGIN": SIMULATOR_LOGIN,
            "DIALER_SB_PASSWORD": simulator_password,
            "DIALER_SB_API_URL": f"{simulator_url}/v1/sb",
            "DIALER_MTT_RPC_URL": f"{simulator_url}/rpc",
            "DIALER_SIP_ID": settings.sip_id,
            "DIALER_PUBLIC_URL": public_url,
        }
    event_url = f"{public_url.rstrip('/')}/webhooks/mtt/{token}"
    return Wiring(env, api_url, event_url, simulator_url, generated_key)


def replace_data_dir(settings: Settings, data_dir: Path) -> Settings:
    return settings.model_copy(update={"data_dir": data_dir})


def without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


@dataclass
class StopRequest:
    """Counts SIGINT/SIGTERM: the first stops gracefully, a second kills what is left."""

    count: int = 0
    previous: dict[int, object] = field(default_factory=dict)

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        self.count += 1

    def install(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            self.previous[sig] = signal.signal(sig, self)

    def restore(self) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]

    def requested(self) -> bool:
        return self.count > 0

    def twice(self) -> bool:
        return self.count > 1


class OperatorConsole(Console):
    """A console that falls silent when its reader goes (`dialer up | tee`, then Ctrl-C: tee
    dies first), where rich's own exits: the stop that follows must still run to the end."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        devnull = os.open(os.devnull, os.O_WRONLY)
        # the interpreter's final flush of what is still buffered then succeeds too
        os.dup2(devnull, self.file.fileno())
        os.close(devnull)


def up(settings: Settings, options: UpOptions, console: Console) -> int:
    """Run until Ctrl-C/SIGTERM (exit 0) or until a part fails (exit 1); refused (exit 1)
    while another `dialer up` holds the data directory."""
    settings = replace_data_dir(settings, settings.data_dir.resolve())
    with private_files():  # the umask is inherited by the children and Redis
        try:
            make_private(settings.data_dir)
            lock = lock_for_up(settings.data_dir)
        except (DataDirBusy, OSError) as exc:
            console.print(f"dialer up: {exc}", style="red", markup=False)
            return 1
        try:
            return _run(settings, options, console)
        finally:
            os.close(lock)


def _run(settings: Settings, options: UpOptions, console: Console) -> int:
    try:
        stored, created = local_secrets.load_or_create(settings.data_dir)
    except local_secrets.SecretsFileError as exc:
        console.print(f"dialer up: {exc}", style="red", markup=False)
        return 1
    stop = StopRequest()
    stop.install()
    redis = RedisServer(settings.data_dir / "redis")
    children: list[Child] = []
    try:
        redis.start()
        sim_port = None if settings.sb_login else (options.simulator_port or free_port())
        wiring = wire(
            settings,
            stored,
            base_env=os.environ,
            redis_url=redis.url,
            simulator_port=sim_port,
            simulator_password=secrets.token_urlsafe(16),
        )
        logs = settings.data_dir / "logs"
        _start(children, wiring, options, sim_port, logs, stop.requested)
        admin = stored.admin_password.get_secret_value()
        _announce(console, settings, wiring, redis, logs, created=created, admin_password=admin)
        _supervise(children, stop.requested)
    except ChildExited as exc:
        console.print(f"dialer up: {exc}; the end of {exc.child.log}:", style="red", markup=False)
        console.print(exc.child.tail(), markup=False, highlight=False)
        return 1
    except (RedisServerError, TimeoutError) as exc:
        console.print(f"dialer up: {exc}", style="red", markup=False)
        return 1
    except Interrupted:
        pass
    finally:
        _stop_all(console, children, redis, stop)
        stop.restore()
    return 0


def _start(
    children: list[Child],
    wiring: Wiring,
    options: UpOptions,
    sim_port: int | None,
    logs: Path,
    stopping: Callable[[], bool],
) -> None:
    """The simulator and the migrations at once, then the API, then the worker: what can
    overlap does (each start is mostly imports), but nothing dials before the API that
    receives the webhooks answers."""

    def launch(name: str, *args: str, stop_timeout: float = CHILD_STOP_TIMEOUT) -> Child:
        child = Child(name, dialer_command(*args), logs / f"{name}.log", stop_timeout)
        children.append(child.start(wiring.env, Path.cwd()))
        return child

    simulator = None
    if sim_port is not None:
        simulator = launch("simulator", *_simulator_args(options, sim_port))
    migrate = launch("migrate", "db", "upgrade")
    code = migrate.wait_exit(MIGRATE_TIMEOUT, stopping)
    children.remove(migrate)
    if code != 0:
        raise ChildExited(migrate, code)
    admin = launch("admin", "user", "bootstrap")  # the console's first user, once
    code = admin.wait_exit(MIGRATE_TIMEOUT, stopping)
    children.remove(admin)
    if code != 0:
        raise ChildExited(admin, code)
    api = launch("api", "api")
    if simulator is not None:
        wait_healthy(
            simulator, f"{wiring.simulator_url}/healthz", timeout=READY_TIMEOUT, stopping=stopping
        )
    wait_healthy(api, f"{wiring.api_url}/healthz", timeout=READY_TIMEOUT, stopping=stopping)
    launch("worker", "worker", stop_timeout=WORKER_STOP_TIMEOUT)


def _simulator_args(options: UpOptions, port: int) -> list[str]:
    args = ["simulate", "--host", "127.0.0.1", "--port", str(port)]
    args += ["--time-factor", str(options.simulator_time_factor)]
    args += ["--seed", str(options.simulator_seed)]
    if options.simulator_rules is not None:
        args += ["--rules", str(options.simulator_rules.resolve())]
    return args


def _supervise(children: list[Child], stopping: Callable[[], bool]) -> None:
    """Returns when a stop is requested; raises when a child exits by itself."""
    while not stopping():
        for child in children:
            code = child.exit_code()
            if code is not None:
                raise ChildExited(child, code)
        time.sleep(0.2)


def _stop_all(
    console: Console, children: list[Child], redis: RedisServer, stop: StopRequest
) -> None:
    """Newest first: the worker, the API, the simulator; Redis last."""
    if children or redis.running:
        console.print("dialer up: stopping … (Ctrl-C again to kill)")
    for child in reversed(children):
        child.stop(hurry=stop.twice)
    redis.stop(kill=stop.twice())
    console.print("dialer up: stopped")


def _announce(
    console: Console,
    settings: Settings,
    wiring: Wiring,
    redis: RedisServer,
    logs: Path,
    *,
    created: bool,
    admin_password: str,
) -> None:
    env = wiring.env
    rows = [
        ("console", f"{wiring.api_url}/ (sign in as admin)"),
        ("redis", f"{redis.url} (AOF in {redis.data_dir})"),
        ("database", f"{without_password(env['DIALER_DATABASE_URL'])} (migrated)"),
    ]
    if wiring.simulator_url is not None:
        rows.append(("simulator", f"{wiring.simulator_url} (stands in for MTT: no real calls)"))
    else:
        rows.append(("sb-api", f"{settings.sb_api_url} as {settings.sb_login}"))
    rows += [
        ("api", f"{wiring.api_url} (health: /healthz, API docs: /docs)"),
        ("worker", f"1 process, {settings.cps:g} calls/s, {settings.max_concurrent} at once"),
        ("logs", str(logs)),
    ]
    console.print("[bold]dialer up[/bold] is running:")
    for name, text in rows:
        console.print(f"  {name:<10} {text}", markup=False, highlight=False)
    secrets_file = local_secrets.secrets_path(settings.data_dir)
    if wiring.generated_key is not None and created:
        console.print(
            f"API key (new, kept in {secrets_file}): {wiring.generated_key}", markup=False
        )
    elif wiring.generated_key is not None:
        console.print(f"API key: the one in {secrets_file}", markup=False)
    shown = f"{admin_password} (new, kept in {secrets_file})" if created else f"in {secrets_file}"
    console.print(f"Console admin password: {shown}", markup=False)
    if wiring.simulator_url is None:
        console.print("Give MTT this event URL (it holds the webhook token, keep it private):")
        console.print(f"  {wiring.event_url}", markup=False, highlight=False)
        if urlsplit(wiring.event_url).scheme != "https":
            console.print(
                "[yellow]MTT expects https: set DIALER_PUBLIC_URL to an https base[/yellow]"
            )
    console.print("Ctrl-C stops everything.")


def command(
    sim_port: Annotated[
        int | None, typer.Option(help="simulator port; default: a free one", show_default=False)
    ] = None,
    sim_time_factor: Annotated[
        float, typer.Option(min=0.001, help="simulated call durations × this (1: real time)")
    ] = UpOptions.simulator_time_factor,
    sim_seed: Annotated[int, typer.Option(help="seed of the simulator's drawn outcomes")] = 0,
    sim_rules: Annotated[
        Path | None,
        typer.Option(
            help="JSON file of forced outcomes (see `dialer simulate --help`)",
            exists=True,
            dir_okay=False,
            show_default=False,
        ),
    ] = None,
) -> None:
    """Run everything on one machine: Redis, the database, API, a worker (+ simulator without
    DIALER_SB_LOGIN). Ctrl-C stops it all; a second run on the same DATA_DIR resumes."""
    options = UpOptions(sim_port, sim_time_factor, sim_seed, sim_rules)
    raise typer.Exit(up(Settings(), options, OperatorConsole(soft_wrap=True)))
