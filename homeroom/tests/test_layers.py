"""No two of Homeroom's modules import each other, at the top of a file or inside a function: a circle held
together by a late import is a knot the next change pulls tight."""

import ast
from pathlib import Path

from django.conf import settings
from django.utils.module_loading import import_string

ROOT = Path(settings.BASE_DIR)
SKIPPED = {".venv", "migrations", "tests", "bench", "scripts", "node_modules", "var"}


def _modules() -> dict[str, Path]:
    modules = {}
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if SKIPPED & set(parts) or len(parts) < 2:
            continue
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        modules[name] = path
    return modules


def _imports(path: Path, known: set[str]) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        found |= {name for name in names if name in known}
    return found


def test_no_two_modules_import_each_other():
    modules = _modules()
    graph = {name: _imports(path, set(modules)) - {name} for name, path in modules.items()}
    circles = sorted({tuple(sorted((a, b))) for a, targets in graph.items() for b in targets if a in graph.get(b, ())})
    assert circles == []


def test_tasks_queued_under_their_old_paths_still_run():
    for old, new in [
        ("communication.tasks.deliver_batch_task", "communication.services.deliver_batch_task"),
        ("intake.tasks.translate_answers_task", "intake.services.translate_answers_task"),
        ("roster.tasks.send_portal_invitation_task", "roster.services.send_portal_invitation_task"),
        ("roster.tasks.run_roster_import_task", "roster.services.run_roster_import_task"),
    ]:
        assert import_string(old) is import_string(new)


# The apps the roster sits beneath: the roster, its access policy, imports and exports never reach up into them.
ABOVE_THE_ROSTER = ("behavior", "communication", "goals", "intake", "insights", "portal", "records", "students")


def test_the_roster_imports_no_app_above_it():
    modules = _modules()
    reaching_up = {
        (name, target)
        for name, path in modules.items()
        if name.split(".")[0] == "roster"
        for target in _imports(path, set(modules))
        if target.split(".")[0] in ABOVE_THE_ROSTER
    }
    assert reaching_up == set()
