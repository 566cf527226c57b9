"""Crontab expressions for ``schedule.cron``, read the way crontab(5) reads them."""

from __future__ import annotations

from datetime import UTC
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from apscheduler.triggers.base import BaseTrigger

_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def cron_trigger(expression: str, jitter: int | None = None) -> BaseTrigger:
    """A trigger from ``minute hour day month day-of-week``, in UTC; ValueError if malformed.

    Two differences from APScheduler 3's CronTrigger are bridged here. It numbers weekdays
    from Monday = 0 while crontab has Sunday = 0 (and 7), so numeric weekdays are handed over
    as names, which both read alike. And it ANDs day-of-month and day-of-week, while
    crontab(5) runs the command when *either* matches if both are restricted (neither starts
    with ``*``): ``0 9 1 * mon`` fires on every 1st and on every Monday. That case is two
    CronTriggers, one per day field, OR-ed (the earlier fire time wins).
    """
    values = expression.split()
    if len(values) != 5:
        raise ValueError(
            f"{expression!r} has {len(values)} fields; crontab has 5:"
            " minute hour day-of-month month day-of-week"
        )
    minute, hour, day, month, weekday = values
    # Imported here: every config parse validates its cron, most commands never schedule.
    from apscheduler.triggers.combining import OrTrigger
    from apscheduler.triggers.cron import CronTrigger

    def trigger(day: str, weekday: str, jitter: int | None) -> CronTrigger:
        return CronTrigger(
            minute=minute,
            hour=hour,
            day=day,
            month=month,
            day_of_week=crontab_weekdays(weekday),
            timezone=UTC,
            jitter=jitter,
        )

    if day.startswith("*") or weekday.startswith("*"):
        return trigger(day, weekday, jitter)
    return OrTrigger([trigger(day, "*", None), trigger("*", weekday, None)], jitter=jitter)


def crontab_weekdays(field: str) -> str:
    """``1-5`` -> ``mon,tue,wed,thu,fri``; ``0``/``7`` -> ``sun``; names pass unchanged."""
    if field == "*":
        return field
    days: list[str] = []
    for part in field.split(","):
        span, _, step = part.partition("/")
        first, _, last = ("0-6" if span == "*" else span).partition("-")
        if not first.isdigit() or not (last or "0").isdigit() or not (step or "1").isdigit():
            days.append(part)  # names (mon-fri), or nonsense for CronTrigger to refuse
            continue
        stop = int(last) if last else (6 if step else int(first))
        days.extend(_WEEKDAYS[d % 7] for d in range(int(first), stop + 1, int(step or 1)))
    return ",".join(dict.fromkeys(days))
