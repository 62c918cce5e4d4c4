"""`lapor`: run the system, its infrastructure and its tools from one command."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated

import httpx
import typer

from ops import infra

cli = typer.Typer(help="Lapor complaint pipeline.", no_args_is_help=True, add_completion=False)
infra_cli = typer.Typer(
    help="Local Kafka (KRaft) and PostgreSQL, without Docker.", no_args_is_help=True
)
topics_cli = typer.Typer(help="Kafka topics.", no_args_is_help=True)
schemas_cli = typer.Typer(help="The event schema documents.", no_args_is_help=True)
cli.add_typer(infra_cli, name="infra")
cli.add_typer(topics_cli, name="topics")
dlq_cli = typer.Typer(help="Dead letters: inspect and replay after a fix.", no_args_is_help=True)
cli.add_typer(schemas_cli, name="schemas")
cli.add_typer(dlq_cli, name="dlq")
routing_cli = typer.Typer(
    help="Routing: the agency directory and desk officers.", no_args_is_help=True
)
cli.add_typer(routing_cli, name="routing")
reporter_cli = typer.Typer(help="Reporters' personal data (UU PDP).", no_args_is_help=True)
cli.add_typer(reporter_cli, name="reporter")
keys_cli = typer.Typer(
    help="Data keys and master keys (see docs/personal-data.md).", no_args_is_help=True
)
cli.add_typer(keys_cli, name="keys")

staff_cli = typer.Typer(help="Back-office staff accounts.", no_args_is_help=True)
cli.add_typer(staff_cli, name="staff")
open311_cli = typer.Typer(
    help="Open311 GeoReport v2 client applications (docs/open311.md).", no_args_is_help=True
)
cli.add_typer(open311_cli, name="open311")
deploy_cli = typer.Typer(help="The Kubernetes manifests' derived files.", no_args_is_help=True)
cli.add_typer(deploy_cli, name="deploy")

# The services on Kafka (consumer groups, dead letters), and every process `lapor up` starts.
SERVICE_PORTS = {"intake": 8000, "triage": 8001, "routing": 8002, "notifier": 8003}
PROCESS_PORTS = {**SERVICE_PORTS, "backoffice": 8004}


def _service_env(config: infra.InfraConfig, port: int) -> dict[str, str]:
    return {
        **os.environ,
        "LAPOR_KAFKA_BOOTSTRAP": os.environ.get("LAPOR_KAFKA_BOOTSTRAP", config.kafka_bootstrap),
        "LAPOR_DATABASE_URL": os.environ.get("LAPOR_DATABASE_URL", config.database_url),
        "LAPOR_HTTP_PORT": str(port),
    }


@infra_cli.command("up")
def infra_up() -> None:
    """Install on first use, then start Kafka and PostgreSQL, and wait until both are ready."""
    started = time.monotonic()
    config = infra.up()
    typer.echo(f"infra ready in {time.monotonic() - started:.1f}s")
    typer.echo(f"  LAPOR_KAFKA_BOOTSTRAP={config.kafka_bootstrap}")
    typer.echo(f"  LAPOR_DATABASE_URL={config.database_url}")


@infra_cli.command("down")
def infra_down() -> None:
    """Stop Kafka and PostgreSQL (data is kept in .lapor/)."""
    infra.down()


@infra_cli.command("status")
def infra_status() -> None:
    for name, state in infra.status().items():
        typer.echo(f"{name:10} {state}")


@topics_cli.command("create")
def topics_create() -> None:
    """Create every topic declared in schemas.topics that does not exist yet."""
    from services.messaging.kafka import ensure_topics

    bootstrap = os.environ.get(
        "LAPOR_KAFKA_BOOTSTRAP", infra.InfraConfig.from_env().kafka_bootstrap
    )
    created = asyncio.run(ensure_topics(bootstrap))
    typer.echo("created: " + (", ".join(created) if created else "nothing (all exist)"))


@deploy_cli.command("rules")
def deploy_rules(
    check: Annotated[bool, typer.Option(help="Fail if the PrometheusRule is stale.")] = False,
) -> None:
    """Write deploy/components/monitoring/prometheusrule.yaml from deploy/alerts/lapor.yml."""
    from ops import deploy

    if check:
        if deploy.stale_prometheus_rule():
            typer.echo("stale: the PrometheusRule; run `lapor deploy rules`", err=True)
            raise typer.Exit(1)
        typer.echo("the PrometheusRule is up to date")
        return
    typer.echo(f"wrote {deploy.write_prometheus_rule().relative_to(deploy.ROOT)}")


@schemas_cli.command("export")
def schemas_export(
    check: Annotated[bool, typer.Option(help="Fail if the checked-in files are stale.")] = False,
) -> None:
    """Write the JSON Schema and AsyncAPI 3.0 documents to schemas/generated/."""
    from schemas import export

    if check:
        stale = export.stale_files()
        if stale:
            typer.echo(f"stale: {', '.join(stale)}; run `lapor schemas export`", err=True)
            raise typer.Exit(1)
        typer.echo("schema documents are up to date")
        return
    for path in export.write():
        typer.echo(f"wrote {path}")


@cli.command("run")
def run(
    service: Annotated[
        str, typer.Argument(help="intake | triage | routing | notifier | backoffice")
    ],
) -> None:
    """Run one service in the foreground (configured from LAPOR_* variables)."""
    if service not in PROCESS_PORTS:
        raise typer.BadParameter(f"unknown service {service!r}")
    os.execv(sys.executable, [sys.executable, "-m", f"services.{service}"])


def _run_dir(config: infra.InfraConfig) -> Path:
    path = config.state_dir / "run"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _alive(pid_file: Path) -> int | None:
    try:
        pid = int(pid_file.read_text())
        os.kill(pid, 0)
    except (FileNotFoundError, ValueError, ProcessLookupError):
        return None
    return pid


def _wait_ready(url: str, timeout: float = 120.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    return False


def _own_env(service: str) -> dict[str, str]:
    """Where a service sends its staff to another service's pages, under `lapor up`'s ports;
    a value already in the environment wins."""
    if service == "routing":  # the case file's signed document links open on intake
        url = f"http://127.0.0.1:{SERVICE_PORTS['intake']}"
        return {
            "LAPOR_ROUTING_INTAKE_PUBLIC_URL": os.environ.get(
                "LAPOR_ROUTING_INTAKE_PUBLIC_URL", url
            )
        }
    return {}


# What `python -m ops.standins` listens on (see its module).
STANDIN_ENV = {
    "LAPOR_NOTIFIER_WHATSAPP_API_URL": "http://127.0.0.1:18081",
    "LAPOR_NOTIFIER_WHATSAPP_PHONE_NUMBER_ID": "1234567890",
    "LAPOR_NOTIFIER_WHATSAPP_TOKEN": "test-token",
    "LAPOR_NOTIFIER_SMS_GATEWAY_URL": "http://127.0.0.1:18082/sms",
    "LAPOR_NOTIFIER_SMS_GATEWAY_TOKEN": "test-token",
    "LAPOR_NOTIFIER_SMTP_HOST": "127.0.0.1",
    "LAPOR_NOTIFIER_SMTP_PORT": "18025",
}
# Intake downloads WhatsApp media from the same stand-in.
INTAKE_STANDIN_ENV = {
    "LAPOR_INTAKE_WHATSAPP_API_URL": "http://127.0.0.1:18081",
    "LAPOR_INTAKE_WHATSAPP_TOKEN": "test-token",
}


def _start(run_dir: Path, logs: Path, name: str, module: list[str], env: dict[str, str]) -> None:
    pid_file = run_dir / f"{name}.pid"
    if _alive(pid_file):
        return
    with (logs / f"{name}.log").open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", *module],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            cwd=infra.REPO_ROOT,
        )
    pid_file.write_text(str(process.pid))


@cli.command("up")
def up() -> None:
    """Start the whole system: infrastructure, topics, the four services and the back office."""
    from services.messaging.kafka import ensure_topics

    config = infra.up()
    asyncio.run(ensure_topics(config.kafka_bootstrap))
    logs = config.state_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    run_dir = _run_dir(config)
    extra_env: dict[str, str] = {}
    intake_env: dict[str, str] = {}
    if "LAPOR_NOTIFIER_WHATSAPP_API_URL" not in os.environ:
        # No real providers configured: local stand-ins for WhatsApp, SMS and SMTP, so the
        # notifier really delivers (to them) instead of finding no channel.
        _start(run_dir, logs, "standins", ["ops.standins"], dict(os.environ))
        extra_env = STANDIN_ENV
        if "LAPOR_INTAKE_WHATSAPP_API_URL" not in os.environ:
            intake_env = INTAKE_STANDIN_ENV
    for service, port in PROCESS_PORTS.items():
        env = {**_service_env(config, port), **(extra_env if service == "notifier" else {})}
        env.update(intake_env if service == "intake" else {})
        env.update(_own_env(service))
        _start(run_dir, logs, service, [f"services.{service}"], env)
    failed = []
    for service, port in PROCESS_PORTS.items():
        if not _wait_ready(f"http://127.0.0.1:{port}/readyz"):
            failed.append(service)
    if failed:
        typer.echo(f"not ready: {', '.join(failed)}; see {logs}/", err=True)
        raise typer.Exit(1)
    typer.echo("Lapor is up:")
    typer.echo("  intake    http://127.0.0.1:8000  (API docs: /docs, POST /v1/complaints)")
    for service in ("triage", "routing", "notifier"):
        typer.echo(f"  {service:9} http://127.0.0.1:{SERVICE_PORTS[service]}/readyz")
    if extra_env:
        typer.echo(
            "  notifier delivers to local stand-ins: WhatsApp :18081, SMS :18082, SMTP :18025"
        )
    typer.echo("  form      http://127.0.0.1:8000/lapor")
    typer.echo(
        f"  back office http://127.0.0.1:{PROCESS_PORTS['backoffice']}/staff"
        "  (walk-in desk: /staff/meja; first admin: lapor staff add ID --name NAME --role admin)"
    )
    typer.echo(f"  logs      {logs}/")
    typer.echo("Stop with: lapor down")


@cli.command("down")
def down(
    keep_infra: Annotated[bool, typer.Option(help="Leave Kafka and PostgreSQL running.")] = False,
) -> None:
    """Stop the services (SIGTERM: they finish in-flight work), then the infrastructure."""
    config = infra.InfraConfig.from_env()
    run_dir = _run_dir(config)
    for service in [*PROCESS_PORTS, "standins"]:
        pid_file = run_dir / f"{service}.pid"
        pid = _alive(pid_file)
        if pid is None:
            continue
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and _alive(pid_file):
            time.sleep(0.2)
        if _alive(pid_file):
            os.kill(pid, signal.SIGKILL)
        pid_file.unlink(missing_ok=True)
        typer.echo(f"stopped {service}")
    if not keep_infra:
        infra.down(config)


@cli.command("status")
def status(
    window: Annotated[float, typer.Option(help="Seconds to sample throughput over.")] = 2.0,
) -> None:
    """Infrastructure, each service's readiness, consumer lag and throughput."""
    from services.messaging.lag import throughput

    infra_status()
    run_dir = _run_dir(infra.InfraConfig.from_env())
    try:
        progress, rates = asyncio.run(throughput(_bootstrap(), list(SERVICE_PORTS), window))
    except Exception as error:  # the broker is down: still show the processes
        typer.echo(f"consumer lag unavailable: {error!r}")
        progress, rates = {}, {}
    typer.echo(f"{'service':10} {'process':38} {'lag':>8} {'events/s':>9}")
    for service, port in PROCESS_PORTS.items():
        pid = _alive(run_dir / f"{service}.pid")
        state = "stopped"
        if pid:
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200
            except httpx.HTTPError:
                ready = False
            state = f"pid {pid}, {'ready' if ready else 'not ready'}, :{port}"
        lag = progress[service].lag if service in progress else "-"
        rate = f"{rates[service]:.1f}" if service in rates else "-"
        typer.echo(f"{service:10} {state:38} {lag:>8} {rate:>9}")


def _bootstrap() -> str:
    return os.environ.get("LAPOR_KAFKA_BOOTSTRAP", infra.InfraConfig.from_env().kafka_bootstrap)


ServiceArg = Annotated[str, typer.Argument(help="intake | triage | routing | notifier")]


def _letters(service: str):  # type: ignore[no-untyped-def]
    from services.messaging.deadletter import read_dead_letters

    if service not in SERVICE_PORTS:
        raise typer.BadParameter(f"unknown service {service!r}")
    return asyncio.run(read_dead_letters(_bootstrap(), service))


@dlq_cli.command("list")
def dlq_list(service: ServiceArg) -> None:
    """One line per dead letter: offset, time, source, reason."""
    from datetime import UTC, datetime

    letters = _letters(service)
    for letter in letters:
        when = datetime.fromtimestamp(letter.timestamp_ms / 1000, UTC).isoformat(timespec="seconds")
        typer.echo(f"{letter.offset:>6}  {when}  {letter.source}  {letter.reason[:120]}")
    typer.echo(f"{len(letters)} dead letter(s) on {service}'s dead-letter topic")


@dlq_cli.command("show")
def dlq_show(service: ServiceArg, offset: int) -> None:
    """One dead letter: headers, and its payload with personal data masked."""
    import json

    from services.messaging.deadletter import masked_payload

    letter = next((item for item in _letters(service) if item.offset == offset), None)
    if letter is None:
        raise typer.BadParameter(f"no dead letter at offset {offset}")
    for name, value in sorted(letter.headers.items()):
        typer.echo(f"{name}: {value}")
    shown = masked_payload(letter.value)
    body = shown if isinstance(shown, str) else json.dumps(shown, indent=2, ensure_ascii=False)
    typer.echo(f"payload ({len(letter.value)} bytes):\n{body}")


@dlq_cli.command("replay")
def dlq_replay(
    service: ServiceArg,
    offset: Annotated[list[int] | None, typer.Option(help="Replay only these offsets.")] = None,
) -> None:
    """Send dead letters back to their source topics after a fix. Safe to repeat."""
    from services.messaging.deadletter import replay_dead_letters
    from services.messaging.kafka import make_producer

    letters = _letters(service)
    if offset:
        letters = [letter for letter in letters if letter.offset in set(offset)]

    async def replay():  # type: ignore[no-untyped-def]
        producer = make_producer(_bootstrap(), f"lapor-dlq-replay-{service}")
        await producer.start()
        try:
            return await replay_dead_letters(producer, letters)
        finally:
            await producer.stop()

    replayed = asyncio.run(replay())
    typer.echo(f"replayed {len(replayed)} dead letter(s) to their source topics")


@routing_cli.command("load-agencies")
def routing_load_agencies(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV file")],
) -> None:
    """Add or update agencies from a CSV file (columns: see docs/routing.md)."""
    from services.routing.entrypoints.directory_cli import load_agencies_file

    count = load_agencies_file(path, os.environ.get("LAPOR_DATABASE_URL", _database_url()))
    typer.echo(f"loaded {count} agencies")


@routing_cli.command("add-officer")
def routing_add_officer(
    agency_code: str,
    officer_id: str,
    admin: Annotated[
        bool, typer.Option(help="May edit rules and the calendar (SETWAPRES officers only).")
    ] = False,
) -> None:
    """Create a desk officer scoped to one agency and print their token (shown only once)."""
    from services.routing.entrypoints.directory_cli import add_officer_cli

    token = add_officer_cli(
        agency_code,
        officer_id,
        admin=admin,
        database_url=os.environ.get("LAPOR_DATABASE_URL", _database_url()),
    )
    typer.echo(token)


@open311_cli.command("add-client")
def open311_add_client(
    name: Annotated[str, typer.Argument(help="The application's name, e.g. 'Aplikasi Warga'.")],
) -> None:
    """Issue a client key for filing through Open311 (printed once, stored only hashed)."""
    from services.intake.entrypoints.open311_cli import add_client_cli

    client_id, key = add_client_cli(name, os.environ.get("LAPOR_DATABASE_URL", _database_url()))
    typer.echo(f"client {client_id}: api_key {key}")


@open311_cli.command("revoke-client")
def open311_revoke_client(client_id: str) -> None:
    """Refuse a client's key from now on (403)."""
    from services.intake.entrypoints.open311_cli import revoke_client_cli

    if not revoke_client_cli(client_id, os.environ.get("LAPOR_DATABASE_URL", _database_url())):
        typer.echo(f"no live client {client_id}", err=True)
        raise typer.Exit(1)
    typer.echo(f"revoked {client_id}")


@open311_cli.command("clients")
def open311_clients() -> None:
    """The client applications (never their keys) and how many complaints each filed."""
    from services.intake.entrypoints.open311_cli import clients_cli

    for row in clients_cli(os.environ.get("LAPOR_DATABASE_URL", _database_url())):
        state = f"revoked {row['revoked_at']:%Y-%m-%d}" if row["revoked_at"] else "live"
        typer.echo(f"{row['client_id']}\t{row['name']}\t{state}\t{row['filed']} filed")


@staff_cli.command("add")
def staff_add(
    staff_id: Annotated[str, typer.Argument(help="The sign-in id (lower case).")],
    name: Annotated[str, typer.Option(help="The name shown on the pages.")],
    role: Annotated[
        list[str],
        typer.Option(
            help="reviewer | disposition | admin | agency_officer | agency_supervisor |"
            " desk_officer (repeat for several)"
        ),
    ],
    agency: Annotated[
        str | None, typer.Option(help="The agency's code (agency roles only).")
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option(help="Read the password from standard input (scripts).")
    ] = False,
) -> None:
    """Create a back-office account (the first admin, say); the password is asked for (or
    read from stdin), never taken as an argument, and never printed."""
    from services.backoffice.entrypoints.staff_cli import add_staff_cli

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        created = add_staff_cli(
            os.environ.get("LAPOR_DATABASE_URL", _database_url()),
            (staff_id, name, role, agency),
            password,
        )
    except Exception as error:  # InvalidAccount, WeakPassword, AccountExists: say why
        if type(error).__name__ not in {"InvalidAccount", "WeakPassword", "AccountExists"}:
            raise
        typer.echo(f"refused: {type(error).__name__}: {error}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"created {created}; sign in at /staff/masuk")


def _database_url() -> str:
    return infra.InfraConfig.from_env().database_url


async def _with_keystore(work):  # type: ignore[no-untyped-def]
    """Run `work(keystore, conn)` on a connection to the shared keystore schema."""
    import asyncpg

    from services.personal_data.keystore import Keystore

    keys = Keystore.from_env()
    conn = await asyncpg.connect(os.environ.get("LAPOR_DATABASE_URL", _database_url()))
    try:
        await Keystore.ensure(conn)
        return await work(keys, conn)
    finally:
        await conn.close()


@reporter_cli.command("erase")
def reporter_erase(
    nik: Annotated[str | None, typer.Option(help="The reporter's NIK.")] = None,
    phone: Annotated[str | None, typer.Option(help="Phone / WhatsApp number.")] = None,
    email: Annotated[str | None, typer.Option(help="Email address.")] = None,
    key_id: Annotated[
        list[str] | None, typer.Option(help="A data key id (from a sealed value).")
    ] = None,
) -> None:
    """Erase a reporter everywhere by deleting their data keys (crypto-shredding).

    Every sealed copy of their personal data becomes unreadable: database rows, Kafka topics
    (retained and dead letters included), backups. Give every identifier you know: a
    WhatsApp conversation is sealed under the phone number's key until the NIK is known.
    """
    import contextlib

    from schemas.identity import InvalidIdentity, check_email, check_nik, normalise_phone
    from services.observability import configure_logging
    from services.personal_data.field_crypto import identity_of

    configure_logging("keystore")  # the act is logged (key ids only), never the identifiers
    identities: list[str] = []
    try:
        if nik:
            identities.append(identity_of(check_nik(nik), None, None) or "")
        if phone:
            identities.append(identity_of(None, normalise_phone(phone), None) or "")
        if email:
            identities.append(identity_of(None, None, check_email(email)) or "")
    except InvalidIdentity as error:
        raise typer.BadParameter(str(error)) from None
    if not identities and not key_id:
        raise typer.BadParameter("give --nik, --phone, --email or --key-id")

    async def erase(keys, conn):  # type: ignore[no-untyped-def]
        erased = await keys.erase(conn, identities=identities, key_ids=key_id or ())
        # Dead row versions still hold the wrapped keys until vacuumed: vacuum now.
        with contextlib.suppress(Exception):
            await conn.execute("VACUUM keystore.data_keys")
        return erased

    erased = asyncio.run(_with_keystore(erase))
    typer.echo(f"erased {len(erased)} data key(s): {', '.join(erased) or '-'}")


@keys_cli.command("rotate")
def keys_rotate() -> None:
    """Re-wrap every data key with the current (first) master key of LAPOR_MASTER_KEYS."""

    async def rotate(keys, conn):  # type: ignore[no-untyped-def]
        return await keys.rewrap(conn), await keys.versions(conn)

    count, versions = asyncio.run(_with_keystore(rotate))
    typer.echo(f"re-wrapped {count} data key(s); keys per master version: {versions}")


@keys_cli.command("status")
def keys_status() -> None:
    """Data keys per master key version (and erased ones)."""

    async def status(keys, conn):  # type: ignore[no-untyped-def]
        return keys.master.current, await keys.versions(conn)

    current, versions = asyncio.run(_with_keystore(status))
    typer.echo(f"current master key: {current}")
    for version, count in versions.items():
        typer.echo(f"{version:>12}  {count}")


@keys_cli.command("new-master")
def keys_new_master() -> None:
    """Print a fresh random master key (32 bytes, base64url) for LAPOR_MASTER_KEYS."""
    from services.personal_data.field_crypto import new_master_key

    typer.echo(new_master_key())


def with_latest_run(document: str, latest: str) -> str:
    """docs/reliability.md with its "Latest chaos run" section replaced by `latest`; the
    sections after it (earlier runs, what they found) are kept."""
    start = document.find("## Latest chaos run")
    later = document.find("\n## ", start + 1) if start != -1 else -1
    return "# Reliability\n\n" + latest + (document[later:] if later != -1 else "")


@cli.command("chaos")
def chaos(
    complaints: Annotated[int, typer.Option(help="Complaints to drive.")] = 5000,
    kills: Annotated[int, typer.Option(help="SIGKILLs per service.")] = 3,
    seed: Annotated[int, typer.Option(help="Random seed for the kill plan.")] = 1,
    record: Annotated[bool, typer.Option(help="Write the run to docs/reliability.md.")] = False,
) -> None:
    """Drive complaints while killing services, Kafka and PostgreSQL; then count."""
    from datetime import UTC, datetime

    from ops.chaos import Chaos

    workdir = infra.InfraConfig.from_env().state_dir / f"chaos-{int(time.time())}"
    started = time.monotonic()
    report = asyncio.run(Chaos(complaints, kills, seed, workdir).run())
    table = report.table()
    typer.echo(table)
    if record:
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        command = f"lapor chaos --complaints {complaints} --kills {kills} --seed {seed}"
        latest = (
            "## Latest chaos run\n\n"
            f"- date: {stamp}\n- command: `{command}`\n"
            f"- duration: {time.monotonic() - started:.0f}s\n"
            f"- result: {'PASSED' if report.passed else 'FAILED'}\n\n"
            f"```\n{table}\n```\n\nWhat happened, in order:\n\n```\n"
            + "\n".join(report.actions)
            + "\n```\n"
        )
        path = infra.REPO_ROOT / "docs" / "reliability.md"
        path.write_text(with_latest_run(path.read_text() if path.exists() else "", latest))
    if not report.passed:
        raise typer.Exit(1)


def main() -> None:
    cli()


if __name__ == "__main__":  # python -m ops.cli, as the docs run it
    main()
