#!/usr/bin/env python3
"""Checks the API reference at GET /docs as a browser sees it: loads the page
in headless Chromium and finds every operation of /v1/openapi.json listed in
the rendered page, with nothing blocked by the page's Content-Security-Policy
but the viewer's "powered by" logo (the one thing it would fetch from a CDN).
Also checks that the served viewer is, byte for byte, the pinned bundle
recorded in functions/organisations/assets/README.md.

    python3 scripts/docs_check.py [--install-chromium] [BASE_URL]

Without BASE_URL it builds the devserver and runs it on a free port for the
check. Chromium comes from PATH (chromium, chromium-browser, google-chrome or
$CHROMIUM); with --install-chromium (as scripts/test runs it) a missing one is
installed from Debian's packages (`apt-get install chromium`, as root or
through passwordless sudo), and the check fails, loudly, when that is not
possible. Standard library only.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import html
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.dont_write_bytecode = True  # no __pycache__ in scripts/
sys.path.insert(0, str(Path(__file__).resolve().parent))
import local_devserver  # noqa: E402

ROOT = local_devserver.ROOT
ASSETS_README = ROOT / "functions/organisations/assets/README.md"
# The only request the page may make elsewhere, blocked by its CSP (the
# viewer then hides the image).
EXPECTED_BLOCKED = "https://cdn.redoc.ly/redoc/logo-mini.svg"
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def fail(message: str) -> None:
    raise SystemExit(f"error: {message}")


def find_chromium() -> str | None:
    if os.environ.get("CHROMIUM"):
        return shutil.which(os.environ["CHROMIUM"]) or fail(f"CHROMIUM={os.environ['CHROMIUM']} is not executable")
    for name in BROWSERS:
        if path := shutil.which(name):
            return path
    return None


def install_chromium() -> str:
    """`apt-get install chromium` (Debian's package; the registries are all
    this machine reaches, so no browser download of Playwright/Puppeteer)."""
    if not shutil.which("apt-get"):
        fail("Chromium is not installed and there is no apt-get to install it: install chromium and rerun")
    if os.geteuid() == 0:
        prefix: list[str] = []
    elif shutil.which("sudo") and subprocess.run(["sudo", "-n", "true"], capture_output=True).returncode == 0:
        prefix = ["sudo", "-n"]
    else:
        fail("Chromium is not installed and installing it needs root: run `sudo apt-get install -y chromium` and rerun")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    lock = ["-o", "DPkg::Lock::Timeout=300"]
    started = time.monotonic()
    print("    installing chromium (apt-get)", flush=True)
    for command in (["apt-get", *lock, "update", "-qq"], ["apt-get", *lock, "install", "-y", "-qq", "chromium"]):
        result = subprocess.run(prefix + command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if result.returncode != 0:
            fail(f"`{' '.join(command)}` failed (exit {result.returncode}):\n{result.stdout[-3000:]}")
    path = find_chromium() or fail("apt-get installed chromium, but no chromium is on PATH")
    print(f"    chromium installed in {time.monotonic() - started:.0f}s", flush=True)
    return path


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()


def pinned_sha256() -> str:
    match = re.search(r"sha256 of `redoc\.standalone\.js` \| `([0-9a-f]{64})`", ASSETS_README.read_text())
    return match.group(1) if match else fail(f"no sha256 of redoc.standalone.js in {ASSETS_README}")


def check_served_page(base_url: str) -> str:
    """The page and its bundle over plain HTTP; returns the bundle's path."""
    status, headers, body = get(f"{base_url}/docs")
    page = body.decode()
    if status != 200 or not headers.get("content-type", "").startswith("text/html"):
        fail(f"GET /docs answered {status} {headers.get('content-type')}")
    csp = headers.get("content-security-policy", "")
    if "script-src 'self'" not in csp or "default-src 'none'" not in csp:
        fail(f"GET /docs has no self-only Content-Security-Policy: {csp!r}")
    scripts = re.findall(r'<script src="([^"]+)"', page)
    if len(scripts) != 1 or not scripts[0].startswith("/docs/"):
        fail(f"the page should load one script from /docs/, not {scripts}")
    status, headers, body = get(f"{base_url}{scripts[0]}", {"Accept-Encoding": "gzip"})
    if headers.get("content-encoding") == "gzip":
        body = gzip.decompress(body)
    digest = hashlib.sha256(body).hexdigest()
    if digest != pinned_sha256():
        fail(f"{scripts[0]} is not the pinned bundle: sha256 {digest}, README says {pinned_sha256()}")
    print(f"    ok  {scripts[0]}: {len(body):,} bytes, sha256 as pinned; {headers.get('cache-control')}")
    return scripts[0]


def render(chromium: str, url: str) -> tuple[str, list[str]]:
    """The DOM after the page ran (virtual time, so no sleeping) and the console lines."""
    with tempfile.TemporaryDirectory(prefix="sundial-chromium.") as profile:
        command = [
            chromium,
            "--headless",
            "--no-sandbox",  # as root (CI) Chromium refuses to start with its sandbox
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--no-default-browser-check",
            f"--user-data-dir={profile}",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=30000",
            "--dump-dom",
            url,
        ]
        try:
            result = subprocess.run(command, capture_output=True, text=True, timeout=180)
        except subprocess.TimeoutExpired:
            fail(f"headless Chromium did not finish rendering {url} within 180 s")
    if result.returncode != 0 or not result.stdout.strip():
        fail(f"headless Chromium failed (exit {result.returncode}):\n{result.stderr[-3000:]}")
    console = [line for line in result.stderr.splitlines() if ":CONSOLE" in line]
    return result.stdout, console


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("base_url", nargs="?", help="a running Sundial (default: start the devserver)")
    parser.add_argument("--install-chromium", action="store_true", help="apt-get install chromium if it is missing")
    args = parser.parse_args()

    chromium = find_chromium()
    if chromium is None:
        if not args.install_chromium:
            fail("Chromium is not installed (apt-get install chromium, or rerun with --install-chromium)")
        chromium = install_chromium()
    version = subprocess.run([chromium, "--version"], capture_output=True, text=True).stdout.strip()
    print(f"    {version} ({chromium})", flush=True)

    if args.base_url:
        check(chromium, args.base_url.rstrip("/"))
    else:
        with local_devserver.running() as base_url:
            check(chromium, base_url)


def check(chromium: str, base_url: str) -> None:
    check_served_page(base_url)
    document = json.loads(get(f"{base_url}/v1/openapi.json")[2])
    started = time.monotonic()
    dom, console = render(chromium, f"{base_url}/docs")
    print(f"    rendered /docs in headless Chromium in {time.monotonic() - started:.1f}s: {len(dom):,} bytes of DOM")

    violations = [line for line in console if "Content Security Policy" in line or "Uncaught" in line]
    unexpected = [line for line in violations if EXPECTED_BLOCKED not in line]
    if unexpected:
        fail("the page broke its Content-Security-Policy or threw:\n" + "\n".join(unexpected))
    if len(violations) > len(unexpected):
        print(f"    ok  its CSP blocked only {EXPECTED_BLOCKED} (the viewer's logo, expected)")

    text = normalise(html.unescape(re.sub(r"<[^>]+>", " ", dom)))
    operations = [
        (method.upper(), path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in ("get", "put", "post", "delete", "patch", "options", "head", "trace")
    ]
    missing = []
    for method, path, operation in operations:
        summary = normalise(operation.get("summary") or "")
        anchor = f'operation/{operation.get("operationId")}"'
        if not summary or summary not in text or anchor not in dom:
            missing.append(f"{method} {path} ({operation.get('operationId')}: {summary!r})")
    if missing:
        fail(f"{len(missing)} of {len(operations)} operations are not listed on /docs:\n  " + "\n  ".join(missing))
    if len(operations) < 100:
        fail(f"only {len(operations)} operations in the document")
    print(f"    ok  all {len(operations)} operations of the document are listed on /docs, by summary and anchor")


if __name__ == "__main__":
    main()
