"""Tasks queued before they moved beside their services are stored under this module's path: it still names them,
so that an upgrade runs what was already waiting."""

from roster.services import run_roster_import_task, send_portal_invitation_task

__all__ = ["run_roster_import_task", "send_portal_invitation_task"]
