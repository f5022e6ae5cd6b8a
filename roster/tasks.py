from django_tasks import task

from roster.services import send_portal_invitation


@task()
def send_portal_invitation_task(guardian_id: int) -> bool:
    return send_portal_invitation(guardian_id=guardian_id)
