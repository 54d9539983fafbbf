"""Progress of a running import: written to the job row a few times a second, then sent."""

import logging
import time

from django.db import transaction
from django.utils import timezone

from imports.models import ImportJob, ImportStatus

logger = logging.getLogger(__name__)

# Share of the whole job that each phase covers, in percent; the bar moves through them in
# order. The shares follow the measured cost of each phase on a stock file through a worker
# on MariaDB (docs/benchmarks/imports.md), where loading overlaps validation and finalizing
# takes 60 to 70 percent of the time.
PHASE_SPANS: dict[str, tuple[float, float]] = {
    ImportStatus.PARSING: (0.0, 5.0),
    ImportStatus.VALIDATING: (5.0, 35.0),
    ImportStatus.LOADING: (35.0, 40.0),
    ImportStatus.FINALIZING: (40.0, 100.0),
}
MIN_WRITE_INTERVAL_SECONDS = 0.25
# A write pushes an event only when the status changed or this long after the last one,
# which keeps the channel layer's traffic at two events a second per job. Readers that
# need every row count poll the job row.
MIN_EVENT_INTERVAL_SECONDS = 0.5
# ETA is reported once the job has run this long and reached this share, so the first
# noisy seconds do not produce a wild estimate.
ETA_MIN_ELAPSED_SECONDS = 0.5
ETA_MIN_PCT = 2.0
# Weight of the newest sample in the moving average of rows per second.
RATE_SMOOTHING = 0.3


class ProgressReporter:
    """Track one job's phase progress and publish it without slowing the pipeline down."""

    def __init__(self, job: ImportJob) -> None:
        self.job = job
        self.phase = job.status
        self.phase_total = 0
        self.phase_started = time.monotonic()
        self.job_started = time.monotonic()
        self._last_write = 0.0
        self._last_event = 0.0
        self._last_event_status: str | None = None
        self._last_rows = 0
        self._last_sample = time.monotonic()
        self._rate: float | None = None

    def phase_start(self, phase: ImportStatus, *, total: int, done: int = 0,
                    work_started: float | None = None) -> None:
        """Enter a phase that will handle ``total`` rows, and publish the change at once.

        ``done`` rows were handled before the phase started (staging files loaded during
        validation), so they count towards the phase's progress but not its rows per second.
        ``work_started`` is the time.monotonic() at which the work the phase finishes first
        began, when that was before the phase (a file already loading): the first rate
        sample spans from then, not from the phase's start.
        """
        self._phase_record_timing()
        self.phase = phase
        self.phase_total = max(total, 0)
        self.phase_started = time.monotonic()
        self._last_rows = done
        self._last_sample = self.phase_started if work_started is None else min(work_started, self.phase_started)
        self._rate = None
        self.job.status = phase
        self.job.rows_done = done
        self.job.throughput_rps = None
        logger.info("import.phase_changed task_id=%s phase=%s", self.job.task_id, phase)
        self._write(force=True)

    def advance(self, rows_done: int, *, force: bool = False) -> None:
        """Report that the current phase has handled ``rows_done`` rows in all."""
        now = time.monotonic()
        elapsed = now - self._last_sample
        if elapsed > 0 and rows_done > self._last_rows:
            sample = (rows_done - self._last_rows) / elapsed
            self._rate = sample if self._rate is None else (
                RATE_SMOOTHING * sample + (1 - RATE_SMOOTHING) * self._rate
            )
            self._last_rows = rows_done
            self._last_sample = now
        self.job.rows_done = rows_done
        if force or now - self._last_write >= MIN_WRITE_INTERVAL_SECONDS:
            self._write(force=force)

    def finish(self, status: ImportStatus, **fields) -> None:
        """Record the final state: done, failed or cancelled."""
        self._phase_record_timing()
        if self.job.status in PHASE_SPANS:
            # The last write may be up to MIN_WRITE_INTERVAL_SECONDS older than the rows done
            # that the run reported, so a cancelled or failed job's pct counts them here.
            self.job.pct = max(self.job.pct, self._pct())
        self.job.status = status
        if status == ImportStatus.DONE:
            self.job.pct = 100.0
        self.job.eta_seconds = 0 if status == ImportStatus.DONE else None
        self.job.finished_at = timezone.now()
        for name, value in fields.items():
            setattr(self.job, name, value)
        self._write(force=True, extra_fields=["finished_at", *fields])

    def _pct(self) -> float:
        start, end = PHASE_SPANS.get(self.phase, (self.job.pct, self.job.pct))
        share = 1.0 if not self.phase_total else min(self.job.rows_done / self.phase_total, 1.0)
        return round(start + (end - start) * share, 2)

    def _eta(self, pct: float) -> int | None:
        elapsed = time.monotonic() - self.job_started
        if elapsed < ETA_MIN_ELAPSED_SECONDS or pct < ETA_MIN_PCT or pct >= 100:
            return None
        return max(0, round(elapsed * (100 - pct) / pct))

    def _phase_record_timing(self) -> None:
        if self.phase in PHASE_SPANS:
            seconds = round(time.monotonic() - self.phase_started, 3)
            timings = dict(self.job.phase_timings or {})
            timings[str(self.phase)] = round(timings.get(str(self.phase), 0) + seconds, 3)
            self.job.phase_timings = timings

    def _write(self, *, force: bool, extra_fields: list[str] | None = None) -> None:
        if self.job.status in PHASE_SPANS:
            # pct never goes down, also when a resumed job repeats a phase.
            self.job.pct = max(self.job.pct, self._pct())
            self.job.eta_seconds = self._eta(self.job.pct)
            self.job.throughput_rps = round(self._rate, 1) if self._rate is not None else None
        # The event carries updated_at, and the SSE stream's event ids come from it, so the
        # job object gets the same value as the row.
        self.job.heartbeat_at = self.job.updated_at = timezone.now()
        fields = [
            "status", "rows_total", "rows_ok", "rows_bad", "rows_done", "pct", "throughput_rps",
            "eta_seconds", "phase_timings", "heartbeat_at", "updated_at", *(extra_fields or []),
        ]
        ImportJob.objects.filter(pk=self.job.pk).update(
            **{name: getattr(self.job, name) for name in fields}
        )
        self._last_write = time.monotonic()
        status_changed = self.job.status != self._last_event_status
        if not status_changed and self._last_write - self._last_event < MIN_EVENT_INTERVAL_SECONDS:
            return
        self._last_event = self._last_write
        self._last_event_status = self.job.status

        from imports.events import import_event_send

        transaction.on_commit(lambda: import_event_send(job=self.job))
