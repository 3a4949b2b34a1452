#!/usr/bin/env python3
"""Checks that the OpenAPI document is usable by a client generator:
generates a Python client from shared/openapi.json with openapi-python-client
(failing on any warning about the document), then runs the example script of
docs/api.md with it against a devserver started for the check (a sign-up, a
sign-in and a list call).

    .tools/openapi-client/bin/python scripts/client_check.py [BASE_URL]

Run it with the interpreter of the venv that holds openapi-python-client
(scripts/test installs it there, pinned); the generated client needs only
that venv's httpx and attrs.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.dont_write_bytecode = True  # no __pycache__ in scripts/
sys.path.insert(0, str(Path(__file__).resolve().parent))
import local_devserver  # noqa: E402

ROOT = local_devserver.ROOT
DOCUMENT = ROOT / "shared/openapi.json"
GUIDE = ROOT / "docs/api.md"


def fail(message: str) -> None:
    raise SystemExit(f"error: {message}")


def generate(out: Path) -> Path:
    bin_dir = Path(sys.executable).parent
    generator = bin_dir / "openapi-python-client"
    if not generator.exists():
        fail(f"no openapi-python-client beside {sys.executable}: run this with .tools/openapi-client/bin/python")
    package = out / "sundial_client"
    started = time.monotonic()
    # Its post-generation hooks run ruff, from the same venv.
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    config = out / "openapi-python-client.yaml"
    config.write_text("literal_enums: true\n")
    result = subprocess.run(
        # literal_enums: the time-zone enum holds names (GMT0, GMT+0, GMT-0)
        # that would collide as Python enum members.
        [str(generator), "generate", "--path", str(DOCUMENT), "--meta", "none", "--output-path", str(package),
         "--config", str(config)],
        env=env,
        capture_output=True,
        text=True,
    )
    output = (result.stdout + result.stderr).strip()
    if result.returncode != 0 or re.search(r"warning|error", output, re.IGNORECASE) or not package.is_dir():
        fail(f"openapi-python-client could not use the document cleanly (exit {result.returncode}):\n{output}")
    modules = sum(1 for _ in (package / "api").rglob("*.py"))
    models = sum(1 for _ in (package / "models").glob("*.py"))
    version = subprocess.run([str(generator), "--version"], capture_output=True, text=True).stdout.strip()
    print(
        f"    ok  {version}: generated {modules} API modules and {models} models "
        f"from {DOCUMENT.relative_to(ROOT)} in {time.monotonic() - started:.1f}s, no warnings",
        flush=True,
    )
    return out


def example_script() -> str:
    blocks = re.findall(r"```python\n(.*?)```", GUIDE.read_text(), re.DOTALL)
    if len(blocks) != 1:
        fail(f"{GUIDE.relative_to(ROOT)} should hold exactly one python block (the example), not {len(blocks)}")
    return blocks[0]


def run_example(package_root: Path, base_url: str) -> None:
    script = package_root / "example.py"
    script.write_text(example_script())
    env = dict(os.environ, PYTHONPATH=str(package_root), SUNDIAL_URL=base_url)
    started = time.monotonic()
    result = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=120)
    for line in result.stdout.splitlines():
        print(f"        {line}")
    if result.returncode != 0:
        fail(f"the example of {GUIDE.relative_to(ROOT)} failed (exit {result.returncode}):\n{result.stderr}")
    print(f"    ok  the example of {GUIDE.relative_to(ROOT)} ran in {time.monotonic() - started:.1f}s")


def main() -> None:
    base_url = sys.argv[1].rstrip("/") if len(sys.argv) > 1 else None
    with tempfile.TemporaryDirectory(prefix="sundial-client.") as tmp:
        generate(Path(tmp))
        if base_url:
            run_example(Path(tmp), base_url)
        else:
            with local_devserver.running() as url:
                run_example(Path(tmp), url)


if __name__ == "__main__":
    main()
