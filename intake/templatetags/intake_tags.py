from django import template

register = template.Library()


@register.filter
def summary_of(summaries: dict[int, str], owner_id: int) -> str:
    """The one-line summary of what a family told us, for a child or a guardian: empty when they have not said."""
    return summaries.get(owner_id, "")
