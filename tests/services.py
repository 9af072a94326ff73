"""Real services for the lake backend's tests, on 127.0.0.1 only: a PostgreSQL server from
Debian's `postgresql` package (initdb into a temporary folder, run as the `postgres` user when
the tests run as root) and moto's S3 server (`moto_server`, from PyPI)."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for_port(port: int, what: str, log: Path, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not listen on 127.0.0.1:{port}; log:\n{log.read_text()}")


@dataclass(frozen=True)
class Postgres:
    host: str
    port: int
    user: str
    dbname: str

    def conninfo(self, dbname: str | None = None) -> str:
        """libpq's key=value form, as DuckDB's ducklake and postgres extensions take it."""
        return f"dbname={dbname or self.dbname} host={self.host} port={self.port} user={self.user}"

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.conninfo("postgres"), autocommit=True) as con:
            con.execute(f'create database "{name}"')
        return self.conninfo(name)


def _pg_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise RuntimeError(
            "PostgreSQL is not installed: apt-get install postgresql (make test does it as root)"
        )
    return Path(found[-1]).parent


def _as_postgres(command: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root: run them as the `postgres` user then."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@contextlib.contextmanager
def postgres_server() -> Iterator[Postgres]:
    """A throwaway cluster on a free loopback port, trust auth, socket in its own folder."""
    binaries = _pg_bin()
    root = Path(tempfile.mkdtemp(prefix="customs-pg-"))
    user = "postgres" if os.geteuid() == 0 else os.environ.get("USER", "postgres")
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    data, log, port = root / "data", root / "server.log", free_port()
    subprocess.run(
        _as_postgres([str(binaries / "initdb"), "-D", str(data), "-U", user, "-A", "trust"]),
        check=True,
        capture_output=True,
    )
    with log.open("w") as log_handle:
        server = subprocess.Popen(
            _as_postgres(
                [
                    str(binaries / "postgres"),
                    "-D",
                    str(data),
                    "-p",
                    str(port),
                    "-c",
                    "listen_addresses=127.0.0.1",
                    "-c",
                    f"unix_socket_directories={root}",
                    "-c",
                    "fsync=off",  # a test cluster: speed over durability
                ]
            ),
            stdout=log_handle,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_for_ready(port, user, log)
        yield Postgres("127.0.0.1", port, user, "postgres")
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        shutil.rmtree(root, ignore_errors=True)


def _wait_for_ready(port: int, user: str, log: Path) -> None:
    import psycopg

    deadline = time.monotonic() + 60
    while True:
        try:
            psycopg.connect(f"host=127.0.0.1 port={port} user={user} dbname=postgres").close()
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"PostgreSQL did not start; log:\n{log.read_text()}") from None
            time.sleep(0.2)


@dataclass(frozen=True)
class S3:
    endpoint: str  # host:port, as DuckDB's S3 secret takes it
    url: str  # http://host:port, as AWS_ENDPOINT_URL

    def env(self) -> dict[str, str]:
        """The standard AWS variables the product reads (moto accepts any key)."""
        return {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": self.url,
        }

    def create_bucket(self, name: str) -> None:
        self.client().create_bucket(Bucket=name)

    def client(self):  # type: ignore[no-untyped-def]
        import boto3

        env = self.env()
        return boto3.client(
            "s3",
            endpoint_url=self.url,
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
            region_name=env["AWS_REGION"],
        )

    def keys(self, bucket: str) -> list[str]:
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket)
        return [item["Key"] for page in pages for item in page.get("Contents", [])]


@contextlib.contextmanager
def moto_s3() -> Iterator[S3]:
    """moto's server mode on a free loopback port."""
    port = free_port()
    moto = Path(sys.executable).with_name("moto_server")
    root = Path(tempfile.mkdtemp(prefix="customs-moto-"))
    log = root / "moto.log"
    with log.open("w") as log_handle:
        server = subprocess.Popen(
            [str(moto), "-H", "127.0.0.1", "-p", str(port)],
            stdout=log_handle,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_for_port(port, "moto_server", log)
        url = f"http://127.0.0.1:{port}"
        httpx.get(url + "/moto-api/", timeout=10)
        yield S3(f"127.0.0.1:{port}", url)
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        shutil.rmtree(root, ignore_errors=True)
