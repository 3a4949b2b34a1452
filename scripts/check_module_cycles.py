#!/usr/bin/env python3
"""Fails when a crate of the workspace has a cycle between its modules.

A module depends on another when its code (not comments, not its test
module) names it through `crate::` or `super::`. References between a module and its own ancestors
or descendants are structure, not dependencies, and are ignored. Any cycle
among the rest (`auth` -> `state` -> `auth`) is reported with its path.

Usage: scripts/check_module_cycles.py [CRATE_SRC_DIR ...]
(default: every crate's src/ in the workspace)
"""
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REF = re.compile(r"\b(crate|super)((?:::[A-Za-z_][A-Za-z0-9_]*)+)")
COMMENT = re.compile(r"//.*$", re.M)
TESTS = re.compile(r"^#\[cfg\(test\)\]\s*\n\s*mod tests\b", re.M)


def module_of(src: Path, file: Path) -> tuple:
    parts = list(file.relative_to(src).with_suffix("").parts)
    if parts[-1] in ("mod", "lib", "main"):
        parts = parts[:-1]
    return tuple(parts)


def related(a: tuple, b: tuple) -> bool:
    return a[: len(b)] == b or b[: len(a)] == a


def graph(src: Path) -> dict:
    files = {module_of(src, f): f for f in src.rglob("*.rs") if "bin" not in f.relative_to(src).parts}
    modules = set(files)
    edges = {m: set() for m in modules}
    for module, file in files.items():
        text = file.read_text()
        cut = TESTS.search(text)
        if cut:
            text = text[: cut.start()]
        text = COMMENT.sub("", text)
        for kind, path in REF.findall(text):
            names = tuple(path.split("::")[1:])
            if kind == "crate":
                target = names
            else:
                # `super` of module a::b (`a/b.rs` or `a/b/mod.rs`) is `a`.
                base = module[:-1]
                while names and names[0] == "super":
                    names, base = names[1:], base[:-1]
                target = base + names
            # The longest prefix that is a module of this crate.
            while target and target not in modules:
                target = target[:-1]
            if target and not related(module, target):
                edges[module].add(target)
    return edges


def cycles(edges: dict) -> list:
    # Tarjan's strongly connected components.
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    sys.setrecursionlimit(10000)
    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def main() -> int:
    dirs = [Path(a) for a in sys.argv[1:]] or sorted(
        p.parent for p in ROOT.glob("**/Cargo.toml") if (p.parent / "src").is_dir() and "target" not in p.parts
    )
    failed = False
    for crate in dirs:
        src = crate / "src" if (crate / "src").is_dir() else crate
        for component in cycles(graph(src)):
            failed = True
            names = ", ".join("::".join(m) or "crate" for m in component)
            print(f"module cycle in {src.relative_to(ROOT) if src.is_absolute() else src}: {names}")
    if not failed:
        print(f"no module cycles in {len(dirs)} crates")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
