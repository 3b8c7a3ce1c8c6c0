"""Satisfaction surveys: planned when a job is done, sent after a delay outside quiet
hours, reminded once, closed after a week. A low score (1 or 2) alerts the coordinator
and the cooperative at once."""

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.base import Role
from models.calendar import after_quiet, in_window
from models.offers import NotAllowed
from models.outbox import queue_for_role, queue_notice
from models.tables import Person, ServiceRequest, Survey

LOW_SCORE = 2
SCORES = range(1, 6)


@dataclass(frozen=True)
class SurveyRules:
    delay: timedelta = timedelta(hours=2)
    remind_after: timedelta = timedelta(hours=24)
    close_after: timedelta = timedelta(days=7)
    quiet: tuple[time, time] = (time(21), time(8))


def score_choices(survey_id: int) -> list[dict[str, str]]:
    return [{"key": f"survey.score_{n}", "value": f"survey:{survey_id}:{n}"} for n in SCORES]


async def plan(session: AsyncSession, request: ServiceRequest, now: datetime,
               rules: SurveyRules) -> None:
    session.add(Survey(request_id=request.id, worker_id=request.worker_id,
                       provider_id=request.provider_id,
                       due_at=after_quiet(now + rules.delay, rules.quiet)))


async def run_due(session: AsyncSession, now: datetime, rules: SurveyRules) -> dict[str, int]:
    """Send what is due, remind once, close what is a week old. Nothing in quiet hours
    except closing."""
    counts = {"sent": 0, "reminded": 0, "closed": 0}
    open_surveys = select(Survey).where(Survey.answered_at.is_(None),
                                        Survey.closed_at.is_(None))
    for survey in (await session.exec(open_surveys.where(
            Survey.sent_at.is_not(None), Survey.sent_at <= now - rules.close_after))).all():
        survey.closed_at = now
        session.add(survey)
        counts["closed"] += 1
    if in_window(now, rules.quiet):
        return counts
    for survey in (await session.exec(open_surveys.where(
            Survey.sent_at.is_(None), Survey.due_at <= now))).all():
        await _ask(session, survey, "worker.survey", now)
        survey.sent_at = now
        counts["sent"] += 1
    for survey in (await session.exec(open_surveys.where(
            Survey.reminded_at.is_(None), Survey.sent_at <= now - rules.remind_after))).all():
        await _ask(session, survey, "worker.survey_reminder", now)
        survey.reminded_at = now
        counts["reminded"] += 1
    return counts


async def _ask(session: AsyncSession, survey: Survey, kind: str, now: datetime) -> None:
    await queue_notice(session, person_id=survey.worker_id, kind=kind,
                       params={"request_id": survey.request_id},
                       choices=score_choices(survey.id),
                       dedupe_key=f"{kind}:{survey.id}", now=now)
    session.add(survey)


async def survey_of_request(session: AsyncSession, request_id: int) -> Survey | None:
    """The survey a request's worker was asked, if any."""
    return (await session.exec(select(Survey).where(Survey.request_id == request_id))).first()


async def open_survey_of(session: AsyncSession, worker_id: int) -> Survey | None:
    """The oldest survey waiting for this worker's answer."""
    return (await session.exec(select(Survey).where(
        Survey.worker_id == worker_id, Survey.sent_at.is_not(None),
        Survey.answered_at.is_(None), Survey.closed_at.is_(None))
        .order_by(Survey.sent_at))).first()


async def own_survey(session: AsyncSession, survey_id: int, worker: Person) -> Survey:
    survey = await session.get(Survey, survey_id)
    if survey is None or survey.worker_id != worker.id:
        raise NotAllowed(worker, f"answer survey {survey_id} of someone else")
    return survey


async def answer(session: AsyncSession, survey: Survey, score: int, now: datetime) -> bool:
    """Record the score once; False when the survey is closed or already answered."""
    if score not in SCORES or survey.answered_at or survey.closed_at:
        return False
    survey.score, survey.answered_at = score, now
    session.add(survey)
    if score <= LOW_SCORE:
        params = {"request_id": survey.request_id, "score": score}
        await queue_for_role(session, Role.COORDINATOR, kind="coordinator.low_score",
                             params=params, dedupe_key=f"low:{survey.id}", now=now)
        if survey.provider_id is not None:
            await queue_for_role(session, Role.OPERATOR, kind="operator.low_score",
                                 params=params, dedupe_key=f"low-coop:{survey.id}", now=now,
                                 organisation_id=survey.provider_id)
    return True


async def add_comment(session: AsyncSession, survey: Survey, text: str) -> None:
    survey.comment = text[:1000]
    session.add(survey)


async def share_comment(session: AsyncSession, survey: Survey, shareable: bool) -> None:
    """The worker says whether the comment may be quoted, without their name, in reports."""
    survey.comment_shareable = shareable
    session.add(survey)
