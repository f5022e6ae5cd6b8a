from django_tasks import task

from communication.services import deliver_batch


@task()
def deliver_batch_task(delivery_ids: list[int]) -> dict[str, int]:
    """Sends a batch of deliveries; returns how many ended which way, for the task's result."""
    outcomes = deliver_batch(delivery_ids=delivery_ids)
    counts: dict[str, int] = {}
    for outcome in outcomes.values():
        counts[outcome.value] = counts.get(outcome.value, 0) + 1
    return counts
