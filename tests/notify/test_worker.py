"""The delivery worker against a real database (SQLite and PostgreSQL) and real receivers."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from calmline.errors import NotifyError, StoreError
from calmline.notify import (
    DeliveryReport,
    deliver_due,
    outbox_status,
    retry_delay,
    run_worker,
    verify,
)
from calmline.notify.outbox import claim_head, due_queues, next_due_at
from calmline.notify.worker import lease_for
from calmline.settings import NotifySettings
from calmline.store.db import make_engine, make_session_factory
from tests.notify.helpers import (
    AGENT_WARNING,
    KEY_POINT,
    T0,
    add_incident,
    add_notifications,
    incident,
    payload,
    rows,
)
from tests.notify.receivers import (
    LOCALHOST,
    Received,
    WebhookReceiver,
    smtp_server,
    webhook_receiver,
)

SECRET = "worker-s3cret"


def webhook_settings(url: str, **changes: Any) -> NotifySettings:
    values: dict[str, Any] = {
        "webhook_url": url,
        "webhook_secret": SECRET,
        "log": False,
        "backoff_seconds": 5,
        "max_backoff_seconds": 300,
        "timeout_seconds": 2,
    }
    values.update(changes)
    return NotifySettings(**values)


def pending(sessions: sessionmaker[Session]) -> int:
    return sum(1 for r in rows(sessions).values() if r.status == "pending")


def delivery_ids(requests: list[Received]) -> list[int]:
    return [int(r.headers["X-Calmline-Delivery"]) for r in requests]


def drain(
    sessions: sessionmaker[Session], settings: NotifySettings, rounds: int = 50
) -> list[DeliveryReport]:
    """Call deliver_due at each next due time until nothing is pending (at most ``rounds``)."""
    reports = []
    for _ in range(rounds):
        due = next_due_at(sessions)
        if due is None:
            return reports
        reports.append(deliver_due(sessions, settings, now=due))
    raise AssertionError(f"still {pending(sessions)} pending after {rounds} rounds")


# ----- retries ------------------------------------------------------------------------------------


def test_a_receiver_that_fails_first_gets_everything_once_in_order(
    sessions: sessionmaker[Session], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="calmline")
    with webhook_receiver(fail_first=3) as receiver:
        settings = webhook_settings(receiver.url)
        ids = add_notifications(sessions, "webhook", receiver.url, 4)
        failures: list[tuple[datetime, datetime]] = []
        for _ in range(10):
            now = next_due_at(sessions)
            if now is None:
                break
            report = deliver_due(sessions, settings, now=now)
            failures += [(now, a.next_attempt_at) for a in report.attempts if a.next_attempt_at]
    assert pending(sessions) == 0
    # the head was retried until it went through; nothing behind it was tried before that
    assert delivery_ids(receiver.requests) == [ids[0]] * 4 + ids[1:]
    assert delivery_ids(receiver.accepted) == ids
    for request in receiver.accepted:
        assert verify(request.body, SECRET, request.headers["X-Calmline-Signature"])
    stored = rows(sessions)
    head = stored[ids[0]]
    assert head.attempts == 4 and head.last_error == "HTTP 503 Service Unavailable"
    assert all(stored[i].attempts == 1 and stored[i].last_error is None for i in ids[1:])
    assert all(r.status == "delivered" and r.delivered_at is not None for r in stored.values())
    # each failure scheduled the next try backoff * 2**n later, less a little jitter
    assert len(failures) == 3
    for n, (failed_at, retry_at) in enumerate(failures):
        delay = (retry_at - failed_at).total_seconds()
        assert delay == pytest.approx(retry_delay(n, settings, ids[0]))
        assert 0.9 * 5 * 2**n <= delay <= 5 * 2**n
    # the worker's own log says what happened to which notification, and nothing anyone wrote
    assert f"notification {ids[0]} not delivered by webhook (attempt 1): HTTP 503" in caplog.text
    record = incident()
    for secret in (KEY_POINT, AGENT_WARNING, "Okafor", record.note, SECRET, "t0k3n"):
        assert secret not in caplog.text, secret


def test_a_receiver_down_for_hours_gets_everything_once_it_is_back(
    sessions: sessionmaker[Session],
) -> None:
    with webhook_receiver(down=True) as receiver:
        settings = webhook_settings(receiver.url)
        ids = add_notifications(sessions, "webhook", receiver.url, 3)
        now = T0
        while now < T0 + timedelta(hours=6):
            now = next_due_at(sessions) or now
            deliver_due(sessions, settings, now=now)
            if now > T0 + timedelta(hours=3) and len(ids) == 3:
                # more incidents while the receiver is still down
                ids += add_notifications(sessions, "webhook", receiver.url, 2, created=now)
        tries = len(receiver.requests)
        receiver.down = False
        drain(sessions, settings)
    assert delivery_ids(receiver.accepted) == ids
    assert all(r.status == "delivered" for r in rows(sessions).values())
    head = rows(sessions)[ids[0]]
    assert head.attempts == tries + 1
    # six hours of doubling from 5 s is capped at max_backoff_seconds (300 s)
    assert 6 * 3600 / 300 <= tries <= 6 * 3600 / (0.9 * 300) + 8


def test_the_backoff_is_capped_and_the_jitter_spreads_retries() -> None:
    settings = webhook_settings("http://127.0.0.1/x")
    capped = [retry_delay(40, settings, key) for key in range(50)]
    assert all(0.9 * 300 <= d <= 300 for d in capped)
    assert len(set(capped)) > 25
    assert retry_delay(3, settings, 7) == retry_delay(3, settings, 7)
    assert retry_delay(10_000, settings, 1) <= 300


def test_one_failing_queue_does_not_hold_up_another(
    sessions: sessionmaker[Session], caplog: pytest.LogCaptureFixture
) -> None:
    with webhook_receiver(down=True) as down, webhook_receiver() as up:
        settings = webhook_settings(down.url, log=True)
        stuck = add_notifications(sessions, "webhook", down.url, 2)
        other = add_notifications(sessions, "webhook", up.url, 2)
        logged = add_notifications(sessions, "log", "calmline.notify", 2)
        with caplog.at_level(logging.WARNING, logger="calmline.notify"):
            report = deliver_due(sessions, settings, now=T0 + timedelta(minutes=1))
    assert report.delivered == 4 and report.failed == 1
    assert delivery_ids(up.accepted) == other
    assert delivery_ids(down.requests) == stuck[:1]
    for n in logged:
        assert f"notification {n}," in caplog.text
    assert pending(sessions) == 2


def test_email_through_the_worker_reaches_the_manager_once(
    sessions: sessionmaker[Session],
) -> None:
    record = incident(reason="safety_threat")
    incident_id = add_incident(sessions, record)
    with smtp_server() as inbox:
        settings = NotifySettings(
            smtp_host=LOCALHOST,
            smtp_port=inbox.port,
            email_to=["lead@example.test"],
            log=False,
        )
        (row_id,) = add_notifications(
            sessions,
            "email",
            "lead@example.test",
            1,
            incidents=[incident_id],
            body=payload(incident_id, record),
        )
        first = deliver_due(sessions, settings, now=T0 + timedelta(minutes=3))
        again = deliver_due(sessions, settings, now=T0 + timedelta(days=3))
    assert first.delivered == 1 and again.attempts == ()
    (mail,) = inbox.mails
    assert mail.recipients == ["lead@example.test"]
    assert "threat to safety" in mail.message["Subject"].lower()
    assert mail.message["X-Calmline-Delivery"] == str(row_id)
    assert f"Incident:      {incident_id}" in mail.message.get_content()


# ----- nothing is dropped -------------------------------------------------------------------------


def test_a_channel_that_is_not_configured_keeps_its_notifications(
    sessions: sessionmaker[Session], receiver: WebhookReceiver
) -> None:
    ids = add_notifications(sessions, "webhook", receiver.url, 2)
    report = deliver_due(sessions, NotifySettings(log=True), now=T0)
    assert report.failed == 1 and pending(sessions) == 2
    assert "webhook channel is not configured" in (rows(sessions)[ids[0]].last_error or "")
    drain(sessions, webhook_settings(receiver.url))
    assert delivery_ids(receiver.accepted) == ids


def test_a_payload_that_is_not_an_object_is_kept_with_its_reason(
    sessions: sessionmaker[Session], receiver: WebhookReceiver
) -> None:
    (row_id,) = add_notifications(sessions, "webhook", receiver.url, 1, body=["not", "an object"])
    report = deliver_due(sessions, webhook_settings(receiver.url), now=T0)
    assert report.failed == 1 and receiver.requests == []
    row = rows(sessions)[row_id]
    assert row.status == "pending" and row.last_error == "the payload is not a JSON object"


def test_a_worker_that_died_mid_delivery_is_covered_by_the_lease(
    sessions: sessionmaker[Session], receiver: WebhookReceiver
) -> None:
    settings = webhook_settings(receiver.url)
    (row_id,) = add_notifications(sessions, "webhook", receiver.url, 1)
    (queue,) = due_queues(sessions, T0)
    lease = lease_for(settings)
    assert claim_head(sessions, queue, T0, lease) is not None  # ... and then the worker died
    assert deliver_due(sessions, settings, now=T0 + lease / 2).attempts == ()
    report = deliver_due(sessions, settings, now=T0 + lease)
    assert report.delivered == 1
    assert delivery_ids(receiver.accepted) == [row_id]


def test_two_workers_never_deliver_the_same_notification_twice(
    sessions: sessionmaker[Session], receiver: WebhookReceiver
) -> None:
    targets = [f"{receiver.url}&queue={q}" for q in range(3)]
    ids = {t: add_notifications(sessions, "webhook", t, 8) for t in targets}
    settings = webhook_settings(receiver.url)
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def worker() -> None:
        try:
            start.wait()
            for _ in range(30):
                deliver_due(sessions, settings, now=T0 + timedelta(minutes=1), limit=3)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    delivered = delivery_ids(receiver.accepted)
    assert sorted(delivered) == sorted(i for t in targets for i in ids[t])
    for target in targets:
        sent = [int(r.headers["X-Calmline-Delivery"]) for r in receiver.accepted
                if r.path.endswith(target.rsplit("&", 1)[1])]  # fmt: skip
        assert sent == ids[target]


def test_a_round_is_limited_and_shared_between_queues(
    sessions: sessionmaker[Session], receiver: WebhookReceiver
) -> None:
    first = add_notifications(sessions, "webhook", receiver.url, 5)
    second = add_notifications(sessions, "webhook", receiver.url + "&b", 5)
    now = T0 + timedelta(minutes=1)
    report = deliver_due(sessions, webhook_settings(receiver.url), now=now, limit=4)
    assert report.delivered == 4 and report.more_due
    assert sorted(delivery_ids(receiver.accepted)) == sorted(first[:2] + second[:2])


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"limit": 0}, "limit"),
        ({"now": datetime(2026, 11, 30, 10, 0)}, "no time zone"),
    ],
)
def test_bad_arguments_are_notify_errors(
    sessions: sessionmaker[Session], options: dict[str, Any], message: str
) -> None:
    with pytest.raises(NotifyError, match=message):
        deliver_due(sessions, NotifySettings(), **options)


def test_a_misconfigured_channel_stops_the_worker_before_it_starts(
    sessions: sessionmaker[Session],
) -> None:
    settings = NotifySettings(webhook_url="https://hooks.example.test/x")
    with pytest.raises(NotifyError, match="CALMLINE_NOTIFY__WEBHOOK_SECRET"):
        run_worker(sessions, settings, threading.Event(), poll_seconds=1)
    with pytest.raises(NotifyError, match="CALMLINE_NOTIFY__WEBHOOK_SECRET"):
        deliver_due(sessions, settings)


def test_a_database_without_tables_is_a_store_error(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    try:
        with pytest.raises(StoreError, match="not migrated"):
            deliver_due(make_session_factory(engine), NotifySettings())
    finally:
        engine.dispose()


# ----- the loop and the status --------------------------------------------------------------------


def test_run_worker_delivers_until_it_is_stopped(
    sessions: sessionmaker[Session], receiver: WebhookReceiver
) -> None:
    made = datetime.now(UTC) - timedelta(minutes=1)
    ids = add_notifications(sessions, "webhook", receiver.url, 3, created=made)
    stop = threading.Event()
    rounds: list[DeliveryReport] = []

    def on_round(report: DeliveryReport) -> None:
        rounds.append(report)
        if sum(r.delivered for r in rounds) >= 3:
            stop.set()

    thread = threading.Thread(
        target=run_worker,
        args=(sessions, webhook_settings(receiver.url), stop),
        kwargs={"poll_seconds": 0.05, "on_round": on_round},
    )
    thread.start()
    thread.join(30)
    assert not thread.is_alive()
    assert delivery_ids(receiver.accepted) == ids


def test_status_counts_and_names_what_each_queue_waits_on(
    sessions: sessionmaker[Session],
) -> None:
    with webhook_receiver(down=True) as down, webhook_receiver() as up:
        stuck = add_notifications(sessions, "webhook", down.url, 3)
        add_notifications(sessions, "webhook", up.url, 2, created=T0 + timedelta(minutes=5))
        deliver_due(sessions, webhook_settings(down.url), now=T0 + timedelta(minutes=10))
    status = outbox_status(sessions)
    assert status.counts == {"pending": 3, "delivered": 2}
    (queue,) = status.queues
    assert queue.channel == "webhook" and queue.target == down.url
    assert queue.pending == 3 and queue.head_id == stuck[0] and queue.head_attempts == 1
    assert queue.head_last_error == "HTTP 503 Service Unavailable"
    assert queue.oldest_created_at == T0
    assert status.oldest_pending == queue
    assert status.last_delivered_at == T0 + timedelta(minutes=10)
