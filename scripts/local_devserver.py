"""Builds the devserver and runs it on a free loopback port over a fresh data
directory, for the checks that need a running API (scripts/docs_check.py,
scripts/client_check.py). Standard library only.

    with local_devserver.running() as base_url:
        ...  # http://127.0.0.1:<port>
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parent.parent


def build() -> str:
    """Builds the devserver binary; its path. With the whole workspace's
    features, as `cargo test --workspace` built it, so that after the tests
    this only links (`-p devserver` would rebuild every crate without the
    tests' features)."""
    command = ["cargo", "build", "--locked", "--workspace", "--bin", "devserver"]
    result = subprocess.run(
        [*command, "--message-format=json-render-diagnostics"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    if result.returncode != 0:
        raise SystemExit(f"error: {' '.join(command)} failed (exit {result.returncode})")
    out = result.stdout
    for line in out.splitlines():
        message = json.loads(line)
        if message.get("reason") == "compiler-artifact" and message.get("executable"):
            if message["target"]["name"] == "devserver":
                return message["executable"]
    raise SystemExit(f"error: {' '.join(command)} named no devserver executable")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running(env: dict[str, str] | None = None, timeout: float = 60.0) -> Iterator[str]:
    """Runs the devserver until the block ends; yields its base URL."""
    binary = build()
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="sundial-devserver.") as data, tempfile.TemporaryFile("w+") as log:
        child_env = dict(os.environ)
        child_env.update(
            {"SUNDIAL_ADDR": f"127.0.0.1:{port}", "SUNDIAL_DATA_DIR": data, "RUST_LOG": "warn", **(env or {})}
        )
        process = subprocess.Popen([binary], env=child_env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + timeout
            while True:
                if process.poll() is not None:
                    log.seek(0)
                    raise SystemExit(f"error: the devserver exited during start-up:\n{log.read()}")
                try:
                    urllib.request.urlopen(f"{base_url}/v1/health", timeout=1).close()
                    break
                except (urllib.error.URLError, ConnectionError, TimeoutError):
                    if time.monotonic() > deadline:
                        raise SystemExit(f"error: the devserver did not answer on {base_url} within {timeout:.0f} s")
                    time.sleep(0.1)
            print(f"    devserver pid {process.pid} at {base_url}", flush=True)
            yield base_url
        except BaseException:
            log.seek(0)
            tail = log.read()[-4000:]
            if tail:
                print(f"--- last lines of the devserver log ---\n{tail}", file=sys.stderr)
            raise
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)  # graceful shutdown on Ctrl-C
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
