from django_tasks import task

from intake.services import translate_answers


@task()
def translate_answers_task(invitation_id: int) -> int:
    return translate_answers(invitation_id=invitation_id)
