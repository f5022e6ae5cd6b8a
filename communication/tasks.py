from django_tasks import task

from communication.services import deliver


@task()
def deliver_task(delivery_id: int) -> str:
    return deliver(delivery_id=delivery_id).value
