"""Each webhook feature (a handlers module with its own router) stands alone: what two features share lives in a
non-feature module (handlers/policy.py, handlers/comment_event.py, ...), so changing one feature never edits
another, and a new trigger (a schedule) reuses the policy instead of a feature."""

from __future__ import annotations

import ast

from tests.paths import REPO_ROOT

HANDLERS = REPO_ROOT / "handlers"


def _tree(module: str) -> ast.Module:
    return ast.parse((HANDLERS / f"{module}.py").read_text(), filename=f"handlers/{module}.py")


def features() -> set[str]:
    """The handlers modules that define a module-level `router`: the features build_router combines."""
    found = set()
    for path in HANDLERS.glob("*.py"):
        for node in _tree(path.stem).body:
            if isinstance(node, ast.Assign) and any(
                isinstance(target, ast.Name) and target.id == "router" for target in node.targets
            ):
                found.add(path.stem)
    return found


def handlers_imported_by(module: str) -> set[str]:
    """The handlers modules `module` imports, however it spells the import (also inside functions)."""
    imported: set[str] = set()
    for node in ast.walk(_tree(module)):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative, so inside the handlers package
                base = f"handlers.{base}".rstrip(".")
            imported.add(base)
            imported.update(f"{base}.{alias.name}" for alias in node.names)
    return {name.removeprefix("handlers.") for name in imported if name.startswith("handlers.")}


def test_the_features_are_the_modules_the_router_combines() -> None:
    assert features() == {"comments", "checks", "signoff", "pulls", "workflows"}


def test_no_feature_module_imports_another() -> None:
    feature_names = features()
    crossings = {
        module: sorted(handlers_imported_by(module) & (feature_names - {module})) for module in sorted(feature_names)
    }
    assert {module: found for module, found in crossings.items() if found} == {}


def test_the_shared_modules_import_no_feature() -> None:
    """Only handlers/__init__.py, which combines the features' routers, knows them all."""
    feature_names = features()
    shared = {path.stem for path in HANDLERS.glob("*.py")} - feature_names - {"__init__"}
    assert {"policy", "comment_event", "context"} <= shared
    crossings = {module: sorted(handlers_imported_by(module) & feature_names) for module in sorted(shared)}
    assert {module: found for module, found in crossings.items() if found} == {}
