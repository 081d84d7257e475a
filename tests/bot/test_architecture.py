"""The floors of the house hold (docs/design.md, "Layout and floors"): the ground floor (bot/) knows no feature and
no scenario, except its composition root (bot/runtime/), which only `bot/__main__.py` imports; and the lab stands
apart, importing nothing of the bot and imported by none of it.

Every module is read with `ast`, so an import inside a function (a lazy one) counts as much as one at the top.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.paths import REPO_ROOT

COMPOSITION_ROOT = "bot.runtime"
ENTRY_POINT = "bot.__main__"


def modules(package: str) -> dict[str, Path]:
    """Every module of a top-level package of the repository, by its dotted name."""
    found: dict[str, Path] = {}
    for path in sorted((REPO_ROOT / package).rglob("*.py")):
        parts = list(path.relative_to(REPO_ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def imported(name: str, path: Path) -> set[str]:
    """The dotted names module `name` (at `path`) imports: `from a.b import c` counts as both `a.b` and `a.b.c`, and
    relative imports are resolved against the module's package."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - (node.level - 1)] if node.level else []
            source = ".".join([*base, *([node.module] if node.module else [])])
            names.add(source)
            names.update(f"{source}.{alias.name}" for alias in node.names)
    return names


def within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def offenders(folders: tuple[str, ...], forbidden: tuple[str, ...], *, exempt: tuple[str, ...] = ()) -> list[str]:
    """`module imports target` for every module of `folders` (outside `exempt`) importing any of `forbidden`."""
    found = []
    for folder in folders:
        for name, path in modules(folder).items():
            if any(within(name, e) for e in exempt):
                continue
            for target in sorted(imported(name, path)):
                if any(within(target, f) for f in forbidden):
                    found.append(f"{name} imports {target}")
    return found


def test_the_composition_root_is_where_features_and_scenarios_are_wired() -> None:
    # The reader must see the imports that exist, or every test below would pass on an empty scan.
    bot_modules = modules("bot")
    wiring = imported("bot.runtime.app", bot_modules["bot.runtime.app"])
    assert any(within(n, "handlers") for n in wiring)
    assert any(within(n, "scenarios") for n in wiring)  # imported lazily, inside scenario_engine
    assert "bot.runtime.cli" in imported(ENTRY_POINT, bot_modules[ENTRY_POINT])


def test_no_module_of_bot_outside_the_composition_root_imports_handlers_or_scenarios() -> None:
    assert offenders(("bot",), ("handlers", "scenarios"), exempt=(COMPOSITION_ROOT,)) == []


def test_only_bots_entry_point_imports_the_composition_root() -> None:
    assert offenders(("bot",), (COMPOSITION_ROOT,), exempt=(COMPOSITION_ROOT, ENTRY_POINT)) == []
    # The features stand on the ground floor, below the composition root that wires them.
    assert offenders(("handlers", "scenarios"), (COMPOSITION_ROOT, ENTRY_POINT)) == []


def test_bot_handlers_and_scenarios_never_import_the_lab() -> None:
    assert offenders(("bot", "handlers", "scenarios"), ("lab",)) == []


def test_the_lab_imports_nothing_of_the_bot() -> None:
    assert offenders(("lab",), ("bot", "handlers", "scenarios")) == []
