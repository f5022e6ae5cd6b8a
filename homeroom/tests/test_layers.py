"""No two of Homeroom's modules import each other, at the top of a file or inside a function: a circle held
together by a late import is a knot the next change pulls tight."""

import ast
from pathlib import Path

from django.apps import apps as django_apps
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
        ("communication.tasks.deliver_batch_task", "delivery.outbox.deliver_batch_task"),
        ("intake.tasks.translate_answers_task", "intake.services.translate_answers_task"),
        ("roster.tasks.send_portal_invitation_task", "roster.services.send_portal_invitation_task"),
        ("roster.tasks.run_roster_import_task", "roster.services.run_roster_import_task"),
    ]:
        assert import_string(old) is import_string(new)


# The floors, from the bottom up (docs/architecture.md draws them): an app imports only the floors beneath it and
# its own. The ground floor's three are one floor: the user, the roster and the audit log need one another's
# models. `homeroom` (settings, middleware, the id converter) is the frame around the house, not a floor.
FLOORS = (
    ("accounts", "roster", "audit"),
    ("delivery",),
    ("intake",),
    ("communication",),
    ("goals",),
    ("behavior",),
    ("insights",),
    ("records",),
    ("portal",),
    ("students",),
    ("seeding",),
)
FLOOR_OF = {app: level for level, apps in enumerate(FLOORS) for app in apps}


def test_every_app_is_on_a_floor():
    ours = [config for config in django_apps.get_app_configs() if Path(config.path).parent == ROOT]
    apps = {config.name for config in ours}
    assert apps - {"homeroom"} == set(FLOOR_OF)


def test_no_app_imports_one_above_it():
    modules = _modules()
    reaching_up = {
        (name, target)
        for name, path in modules.items()
        if name.split(".")[0] in FLOOR_OF
        for target in _imports(path, set(modules))
        if FLOOR_OF.get(target.split(".")[0], -1) > FLOOR_OF[name.split(".")[0]]
    }
    assert reaching_up == set()
