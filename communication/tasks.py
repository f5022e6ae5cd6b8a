"""Tasks queued before they moved beside their services are stored under this module's path: it still names them,
so that an upgrade runs what was already waiting."""

from delivery.outbox import deliver_batch_task

__all__ = ["deliver_batch_task"]
