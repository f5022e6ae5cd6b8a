from django_tasks import task

from roster.services import run_roster_import, send_portal_invitation


@task()
def send_portal_invitation_task(guardian_id: int) -> bool:
    return send_portal_invitation(guardian_id=guardian_id)


@task()
def run_roster_import_task(import_id: int) -> str:
    return run_roster_import(import_id=import_id)
