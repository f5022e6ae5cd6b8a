"""How far a running import has got, in a small JSON file next to its upload.

The import writes in one database transaction, so its progress cannot go to its RosterImport row: other connections
would not see the row change until the end, and SQLite would make the page wait for the write lock. A file replaced
atomically can be read by the page at any moment.
"""

import json
import os
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

# Stages in the order the import goes through them (roster/imports/run.py and apply.py `RosterWriter.write`).
STAGES: dict[str, str | Promise] = {
    "reading": _("Reading and checking the file"),
    "schools": _("Schools"),
    "terms": _("Terms"),
    "classes": _("Classes"),
    "teachers": _("Teachers"),
    "students": _("Students"),
    "guardians": _("Guardians"),
    "family_links": _("Family links"),
    "enrollments": _("Enrollments"),
    "done": _("Finishing"),
}
WRITING = ("schools", "terms", "classes", "teachers", "students", "guardians", "family_links", "enrollments")
# Reading and checking every row is about a tenth of an import's time.
READING_PERCENT = 10
THROTTLE_SECONDS = 0.5

# import id -> (stage, monotonic time) of the last write, in the worker process that runs the import.
_last_written: dict[int, tuple[str, float]] = {}


def progress_path(import_id: int) -> Path:
    return Path(settings.HOMEROOM_IMPORT_DIR) / f"{import_id}.progress.json"


def write_progress(import_id: int, stage: str, done: int, total: int) -> bool:
    """Records where the import is; returns whether it wrote. A new stage is always written, a step within a stage
    at most every half second: a file write per row would slow a large import down."""
    now = time.monotonic()
    last = _last_written.get(import_id)
    if last is not None and last[0] == stage and now - last[1] < THROTTLE_SECONDS:
        return False
    path = progress_path(import_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps({"stage": stage, "done": done, "total": total}), encoding="utf-8")
    # Atomic: a reader sees the old file or the new one, never half of one.
    os.replace(temporary, path)
    _last_written[import_id] = (stage, now)
    return True


def read_progress(import_id: int) -> dict[str, Any] | None:
    """{"stage", "done", "total", "percent"}, or None before the import has started or once it has ended."""
    try:
        data = json.loads(progress_path(import_id).read_text(encoding="utf-8"))
        stage, done, total = str(data["stage"]), int(data["done"]), int(data["total"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return {"stage": stage, "done": done, "total": total, "percent": overall_percent(stage, done, total)}


def clear_progress(import_id: int) -> None:
    _last_written.pop(import_id, None)
    progress_path(import_id).unlink(missing_ok=True)


def overall_percent(stage: str, done: int, total: int) -> int:
    """The whole import's progress from where it is: reading first, then each kind of record an equal share.
    Within a stage, `done` of `total` counts records (students, by the ten thousand); the call that opens a stage
    counts stages instead (its `done` is the stage's position), which adds nothing within it."""
    if stage == "done":
        return 100
    if stage not in WRITING:
        return 0
    position = WRITING.index(stage)
    opening = total == len(WRITING) and done == position
    within = 0.0 if opening or total <= 0 else min(done / total, 1.0)
    share = (100 - READING_PERCENT) / len(WRITING)
    return int(READING_PERCENT + share * (position + within))


def stage_label(stage: str) -> str:
    return str(STAGES.get(stage, stage))
