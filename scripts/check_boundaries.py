#!/usr/bin/env python3
"""Fails when a group crate reaches past the repositories into the store.

Group crates (every crate under functions/ except the devserver) get the
table through the typed repositories of `shared` only. The `shared` crate
keeps `table` and `keys` private unless its `testkit` feature is on, so a
group that names them does not compile in its deployed build; this check
adds the two rules the compiler cannot see in a workspace build (where
the tests turn `testkit` on for every crate):

  1. a group crate depends on neither `platform` nor a storage or AWS SDK
     crate directly (so it cannot name the store's types another way);
  2. no code of a group crate (its src/) names `shared::table`,
     `shared::keys` or `platform::` (comments are ignored).

Benchmarks and dev-dependencies may: they build test state on adapters.

Usage: scripts/check_boundaries.py
"""
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOT_GROUPS = {"devserver"}
FORBIDDEN_DEPS = re.compile(r"^\s*(platform|redb|aws-sdk-[a-z0-9-]+|serde_dynamo)\s*[.=]", re.M)
FORBIDDEN_PATHS = re.compile(r"\b(shared::(table|keys)\b|platform::)")
COMMENT = re.compile(r"//.*$", re.M)


def dependency_sections(manifest: str) -> str:
    """The [dependencies] and [build-dependencies] sections of a manifest."""
    out, keep = [], False
    for line in manifest.splitlines():
        if line.startswith("["):
            keep = line.strip() in ("[dependencies]", "[build-dependencies]")
            continue
        if keep:
            out.append(line)
    return "\n".join(out)


def main() -> int:
    problems = []
    for crate in sorted((ROOT / "functions").iterdir()):
        if not (crate / "Cargo.toml").is_file() or crate.name in NOT_GROUPS:
            continue
        deps = dependency_sections((crate / "Cargo.toml").read_text())
        for m in FORBIDDEN_DEPS.finditer(deps):
            problems.append(f"{crate.name}/Cargo.toml: depends on `{m.group(1)}` (use the repositories of `shared`)")
        for file in sorted((crate / "src").rglob("*.rs")):
            text = COMMENT.sub("", file.read_text())
            for n, line in enumerate(text.splitlines(), 1):
                m = FORBIDDEN_PATHS.search(line)
                if m:
                    rel = file.relative_to(ROOT)
                    problems.append(f"{rel}:{n}: names `{m.group(1)}` (add a repository function instead)")
    for p in problems:
        print(f"error: {p}", file=sys.stderr)
    if problems:
        return 1
    print("group crates reach the store through repositories only")
    return 0


if __name__ == "__main__":
    sys.exit(main())
