"""The benchmarks' own Celery task: a no-op, the ceiling a per-message task cannot pass."""

from celery import shared_task


@shared_task(name="bench.noop", ignore_result=True)
def noop(n: int) -> int:
    return n
