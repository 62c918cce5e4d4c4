"""Local infrastructure without Docker: Apache Kafka (KRaft) from Maven Central jars and
PostgreSQL from Debian's packages, installed on first use and kept in `.lapor/`.

Everything here is idempotent: `up` on a running stack only checks readiness, `down` on a
stopped one does nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import shutil
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

KAFKA_VERSION = "4.4.0"
REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class InfraConfig:
    state_dir: Path
    kafka_port: int
    kafka_controller_port: int
    pg_port: int
    pg_database: str
    pg_user: str

    @classmethod
    def from_env(cls) -> InfraConfig:
        return cls(
            state_dir=Path(os.environ.get("LAPOR_STATE_DIR", REPO_ROOT / ".lapor")).resolve(),
            kafka_port=int(os.environ.get("LAPOR_INFRA_KAFKA_PORT", "19092")),
            kafka_controller_port=int(os.environ.get("LAPOR_INFRA_KAFKA_CONTROLLER_PORT", "19093")),
            pg_port=int(os.environ.get("LAPOR_INFRA_PG_PORT", "55432")),
            pg_database=os.environ.get("LAPOR_INFRA_PG_DATABASE", "lapor"),
            pg_user=os.environ.get("LAPOR_INFRA_PG_USER", "lapor"),
        )

    @property
    def kafka_bootstrap(self) -> str:
        return f"127.0.0.1:{self.kafka_port}"

    @property
    def database_url(self) -> str:
        return f"postgresql://{self.pg_user}@127.0.0.1:{self.pg_port}/{self.pg_database}"

    @property
    def kafka_dir(self) -> Path:
        return self.state_dir / "kafka"

    @property
    def pg_dir(self) -> Path:
        return self.state_dir / "postgres"


def _log(message: str) -> None:
    print(f"[infra] {message}", flush=True)


def _pid_alive(pid_file: Path) -> int | None:
    try:
        pid = int(pid_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)  # reap it if it is our own exited child
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid
    with contextlib.suppress(OSError):
        if Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z"):
            return None  # a zombie has exited; only its parent has not collected it
    return pid


# --------------------------------------------------------------------------- Kafka


def kafka_libs_dir(config: InfraConfig) -> Path:
    """Shared by every state directory (chaos runs bring up their own broker from them)."""
    return REPO_ROOT / ".lapor" / "kafka-libs" / KAFKA_VERSION


def install_kafka(config: InfraConfig) -> None:
    """Resolve the broker jars and a log4j2 binding from Maven Central in one pass."""
    libs = kafka_libs_dir(config)
    marker = libs / ".complete"
    if marker.exists():
        return
    if shutil.which("mvn") is None or shutil.which("java") is None:
        raise RuntimeError("Kafka needs a JDK and Maven on PATH (java, mvn)")
    _log(f"resolving Apache Kafka {KAFKA_VERSION} from Maven Central (first run only)")
    libs.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [
            "mvn",
            "-q",
            "-B",
            "-f",
            str(REPO_ROOT / "scripts" / "kafka" / "pom.xml"),
            "dependency:copy-dependencies",
            f"-Dkafka.version={KAFKA_VERSION}",
            f"-DoutputDirectory={libs}",
            "-DincludeScope=runtime",
        ],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"mvn could not resolve Kafka {KAFKA_VERSION}:\n{result.stdout}{result.stderr}"
        )
    marker.touch()


def _kafka_properties(config: InfraConfig) -> str:
    data = config.kafka_dir / "data"
    controller = f"127.0.0.1:{config.kafka_controller_port}"
    return "\n".join(
        [
            "process.roles=broker,controller",
            "node.id=1",
            f"controller.quorum.bootstrap.servers={controller}",
            f"listeners=PLAINTEXT://127.0.0.1:{config.kafka_port},CONTROLLER://{controller}",
            f"advertised.listeners=PLAINTEXT://127.0.0.1:{config.kafka_port}",
            "controller.listener.names=CONTROLLER",
            "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            "inter.broker.listener.name=PLAINTEXT",
            f"log.dirs={data}",
            "num.partitions=6",
            # Topics are declared in schemas.topics and created explicitly.
            "auto.create.topics.enable=false",
            "offsets.topic.replication.factor=1",
            "offsets.topic.num.partitions=12",
            "transaction.state.log.replication.factor=1",
            "transaction.state.log.min.isr=1",
            "share.coordinator.state.topic.replication.factor=1",
            "share.coordinator.state.topic.min.isr=1",
            "group.initial.rebalance.delay.ms=0",
            "message.max.bytes=8388608",
            "log.retention.hours=168",
            "",
        ]
    )


def _java_command(config: InfraConfig, main_class: str, *args: str) -> list[str]:
    heap = os.environ.get("LAPOR_INFRA_KAFKA_HEAP", "1g")
    return [
        "java",
        f"-Xms{heap}",
        f"-Xmx{heap}",
        "-XX:+UseG1GC",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={REPO_ROOT / 'scripts' / 'kafka' / 'log4j2.properties'}",
        "-cp",
        f"{kafka_libs_dir(config)}/*",
        main_class,
        *args,
    ]


def kafka_up(config: InfraConfig) -> None:
    install_kafka(config)
    pid_file = config.kafka_dir / "kafka.pid"
    if _pid_alive(pid_file) is None:
        properties = config.kafka_dir / "server.properties"
        properties.write_text(_kafka_properties(config))
        cluster_id_file = config.kafka_dir / "cluster.id"
        if not cluster_id_file.exists():
            # A Kafka cluster id is a URL-safe base64 UUID without padding.
            import base64

            raw = "-"
            while raw[0] in "-_":  # StorageTool would read a leading '-' as an option
                raw = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
            cluster_id_file.write_text(raw)
        cluster_id = cluster_id_file.read_text().strip()
        if not (config.kafka_dir / "data" / "meta.properties").exists():
            _log("formatting KRaft storage")
            subprocess.run(
                _java_command(
                    config,
                    "kafka.tools.StorageTool",
                    "format",
                    "-t",
                    cluster_id,
                    "-c",
                    str(properties),
                    "--standalone",
                    "--ignore-formatted",
                ),
                check=True,
                stdout=subprocess.DEVNULL,
            )
        log = (config.kafka_dir / "broker.log").open("ab")
        process = subprocess.Popen(
            _java_command(config, "kafka.Kafka", str(properties)),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        pid_file.write_text(str(process.pid))
        _log(f"started Kafka {KAFKA_VERSION} (pid {process.pid}) on {config.kafka_bootstrap}")
    asyncio.run(_wait_kafka_ready(config.kafka_bootstrap, pid_file))
    _log(f"Kafka ready on {config.kafka_bootstrap}")


async def _wait_kafka_ready(bootstrap: str, pid_file: Path, within_seconds: float = 90.0) -> None:
    """Ready means an admin client can list topics, not merely that the port answers."""
    import logging

    from aiokafka.admin import AIOKafkaAdminClient

    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)  # refused connects are expected
    deadline = time.monotonic() + within_seconds
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if _pid_alive(pid_file) is None:
            raise RuntimeError(f"Kafka exited during start-up; see {pid_file.parent}/broker.log")
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
        try:
            await admin.start()
            await admin.list_topics()
            return
        except Exception as error:
            last_error = error
        finally:
            with contextlib.suppress(Exception):
                await admin.close()
        await asyncio.sleep(0.5)
    raise TimeoutError(f"Kafka not ready on {bootstrap} after {within_seconds}s: {last_error}")


def kafka_down(config: InfraConfig) -> None:
    pid_file = config.kafka_dir / "kafka.pid"
    pid = _pid_alive(pid_file)
    if pid is None:
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and _pid_alive(pid_file) is not None:
        time.sleep(0.2)
    if _pid_alive(pid_file) is not None:
        os.kill(pid, signal.SIGKILL)
    pid_file.unlink(missing_ok=True)
    _log("Kafka stopped")


# --------------------------------------------------------------------------- PostgreSQL


def _pg_bin() -> Path | None:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    return Path(candidates[0]).parent if candidates else None


def install_postgres() -> Path:
    bin_dir = _pg_bin()
    if bin_dir is not None:
        return bin_dir
    _log("installing PostgreSQL from Debian's packages (first run only)")
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run([*sudo, "apt-get", "update", "-q"], check=True, env=env)
    subprocess.run(
        [*sudo, "apt-get", "install", "-y", "-q", "--no-install-recommends", "postgresql"],
        check=True,
        env=env,
    )
    bin_dir = _pg_bin()
    if bin_dir is None:
        raise RuntimeError("postgresql installed but initdb not found")
    return bin_dir


def _as_postgres(command: list[str]) -> list[str]:
    # initdb and postgres refuse to run as root.
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


def postgres_up(config: InfraConfig) -> None:
    bin_dir = install_postgres()
    data = config.pg_dir / "data"
    config.pg_dir.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(config.pg_dir, "postgres", "postgres")
    if not (data / "PG_VERSION").exists():
        _log("initialising the PostgreSQL cluster")
        subprocess.run(
            _as_postgres(
                [
                    str(bin_dir / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    "postgres",
                    "-E",
                    "UTF8",
                    "--auth-local=trust",
                    "--auth-host=trust",
                    "--locale=C.UTF-8",
                ]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )
    status = subprocess.run(
        _as_postgres([str(bin_dir / "pg_ctl"), "-D", str(data), "status"]),
        capture_output=True,
    )
    if status.returncode != 0:
        options = (
            f"-p {config.pg_port} -k {config.pg_dir} -c listen_addresses=127.0.0.1 "
            "-c max_connections=300 -c shared_buffers=256MB"
        )
        subprocess.run(
            _as_postgres(
                [
                    str(bin_dir / "pg_ctl"),
                    "-D",
                    str(data),
                    "-l",
                    str(config.pg_dir / "server.log"),
                    "-o",
                    options,
                    "-w",
                    "-t",
                    "60",
                    "start",
                ]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )
        _log(f"started PostgreSQL on 127.0.0.1:{config.pg_port}")
    _ensure_database(config, bin_dir)
    _log(f"PostgreSQL ready: {config.database_url}")


def _psql(config: InfraConfig, bin_dir: Path, sql: str, database: str = "postgres") -> str:
    result = subprocess.run(
        _as_postgres(
            [
                str(bin_dir / "psql"),
                "-h",
                str(config.pg_dir),
                "-p",
                str(config.pg_port),
                "-U",
                "postgres",
                "-d",
                database,
                "-tAc",
                sql,
            ]
        ),
        check=True,
        capture_output=True,
        text=True,
    )
    return result.stdout.strip()


def _ensure_database(config: InfraConfig, bin_dir: Path) -> None:
    user, database = config.pg_user, config.pg_database
    if not _psql(config, bin_dir, f"SELECT 1 FROM pg_roles WHERE rolname = '{user}'"):
        # CREATEDB lets the tests make a throwaway database per run.
        _psql(config, bin_dir, f'CREATE ROLE "{user}" LOGIN CREATEDB')
    if not _psql(config, bin_dir, f"SELECT 1 FROM pg_database WHERE datname = '{database}'"):
        _psql(config, bin_dir, f'CREATE DATABASE "{database}" OWNER "{user}"')


def postgres_down(config: InfraConfig) -> None:
    bin_dir = _pg_bin()
    data = config.pg_dir / "data"
    if bin_dir is None or not (data / "PG_VERSION").exists():
        return
    status = subprocess.run(
        _as_postgres([str(bin_dir / "pg_ctl"), "-D", str(data), "status"]), capture_output=True
    )
    if status.returncode == 0:
        subprocess.run(
            _as_postgres([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]),
            check=True,
            stdout=subprocess.DEVNULL,
        )
        _log("PostgreSQL stopped")


def postgres_running(config: InfraConfig) -> bool:
    bin_dir = _pg_bin()
    if bin_dir is None:
        return False
    status = subprocess.run(
        _as_postgres([str(bin_dir / "pg_ctl"), "-D", str(config.pg_dir / "data"), "status"]),
        capture_output=True,
    )
    return status.returncode == 0


# --------------------------------------------------------------------------- stack


def up(config: InfraConfig | None = None) -> InfraConfig:
    config = config or InfraConfig.from_env()
    config.state_dir.mkdir(parents=True, exist_ok=True)
    config.kafka_dir.mkdir(parents=True, exist_ok=True)
    postgres_up(config)
    kafka_up(config)
    return config


def down(config: InfraConfig | None = None) -> None:
    config = config or InfraConfig.from_env()
    kafka_down(config)
    postgres_down(config)


def status(config: InfraConfig | None = None) -> dict[str, str]:
    config = config or InfraConfig.from_env()
    kafka_pid = _pid_alive(config.kafka_dir / "kafka.pid")
    return {
        "kafka": f"running (pid {kafka_pid}) on {config.kafka_bootstrap}"
        if kafka_pid
        else "stopped",
        "postgres": f"running on {config.database_url}" if postgres_running(config) else "stopped",
    }
