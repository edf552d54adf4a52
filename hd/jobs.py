"""HD jobs: the optimisation-based algorithm (training/gatys.py) refining a fast network's
picture, one job per request, on the worker's own threads.

The contract, so that it holds under load (docs/hd.md):
- at most `max_running` jobs run at once; another submission is refused (Full -> 429 with
  Retry-After: the seconds until the soonest running job must end);
- a job is cancelled at once by DELETE, and stops by itself when nobody asked for its
  status for `abandon_after` seconds (the page was closed): either frees its slot at the
  next optimisation step;
- a job solves at half size first, then at full size (coarse-to-fine: larger shapes,
  sooner); a level ends when 10 steps improve its loss by less than 1 % (converged), and
  the job after its iterations, when the full-size level converges, or after
  `time_limit` seconds: its picture so far is then its result, at full size;
- a finished job's picture is kept `keep_results` seconds, then forgotten (404);
- jobs live in this process's memory: a restarted worker knows none (404), and the page
  offers to start again.
"""
from __future__ import annotations

import io
import secrets
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from training import gatys
from training.gatys import DEFAULT_STYLE_WEIGHT, REFINE_LEVELS
from training.loss_config import LossConfig


@dataclass(frozen=True)
class HDConfig:
    max_running: int = 1          # a CPU optimisation uses every core: one at a time
    time_limit: float = 120.0     # seconds a job may run
    abandon_after: float = 15.0   # seconds without a status request before a job stops
    keep_results: float = 600.0   # seconds a finished picture is kept
    max_side: int = 1024
    # Enough for a 512 px refine to converge (about 150 iterations, 108 s on 2 cores with
    # native bfloat16); the time limit stops it on a slower machine.
    default_iterations: int = 200
    max_iterations: int = 500
    preview_every: int = 5        # iterations between intermediate pictures
    levels: int = REFINE_LEVELS   # coarse-to-fine, as make side-by-side HD=N too
    style_weight: float = DEFAULT_STYLE_WEIGHT  # the tool's: make side-by-side HD=N relies on it
    paintings_dir: Path | None = None  # the named paintings, <name>.jpg/.png
    # VGG19's arithmetic: "auto" = bfloat16 on a CPU that computes it natively (a 512 px
    # refine converges in 140 s instead of 226 s there), else float32.
    precision: str = "auto"

    def vgg_precision(self) -> str:
        from serving.tf_env import local_precision

        return local_precision(self.precision)


class Full(Exception):
    def __init__(self, retry_after: int):
        super().__init__(f"every HD slot is busy; try again in {retry_after} s")
        self.retry_after = retry_after


class UnknownJob(KeyError):
    pass


@dataclass
class Job:
    id: str
    iterations: int
    state: str = "running"        # running | done | cancelled | failed
    step: int = 0
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None
    last_seen: float = field(default_factory=time.monotonic)
    picture: bytes = b""          # the latest picture, JPEG
    losses: dict = field(default_factory=dict)
    note: str = ""                # why it ended early, or what failed
    cancel: threading.Event = field(default_factory=threading.Event)

    def status(self, time_limit: float) -> dict:
        elapsed = (self.finished or time.monotonic()) - self.started
        rate = elapsed / self.step if self.step else None
        eta = None if self.state != "running" or rate is None else \
            min(rate * (self.iterations - self.step), max(0.0, time_limit - elapsed))
        return {"id": self.id, "state": self.state, "step": self.step,
                "iterations": self.iterations, "elapsed_s": round(elapsed, 1),
                "eta_s": None if eta is None else round(eta, 1), "losses": self.losses,
                "note": self.note, "has_picture": bool(self.picture)}


def jpeg(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=92)
    return buffer.getvalue()


class JobBoard:
    def __init__(self, cfg: HDConfig):
        self.cfg = cfg
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def _sweep(self, now: float) -> None:
        for job_id, job in list(self._jobs.items()):
            if job.finished and now - job.finished > self.cfg.keep_results:
                del self._jobs[job_id]

    def running(self) -> list[Job]:
        return [j for j in self._jobs.values() if j.state == "running"]

    def submit(self, photo: Path, start: Path, paintings: list[tuple[Path, float]],
               iterations: int, side: int, preserve_colors: bool, workdir: tempfile.TemporaryDirectory
               ) -> Job:
        with self._lock:
            now = time.monotonic()
            self._sweep(now)
            running = self.running()
            if len(running) >= self.cfg.max_running:
                soonest = min(self.cfg.time_limit - (now - j.started) for j in running)
                raise Full(max(1, int(soonest + 0.999)))
            job = Job(secrets.token_urlsafe(12), iterations)
            self._jobs[job.id] = job
        thread = threading.Thread(target=self._run, name=f"hd-{job.id}", daemon=True,
                                  args=(job, photo, start, paintings, side, preserve_colors, workdir))
        thread.start()
        return job

    def get(self, job_id: str) -> Job:
        with self._lock:
            self._sweep(time.monotonic())
            job = self._jobs.get(job_id)
        if job is None:
            raise UnknownJob(job_id)
        job.last_seen = time.monotonic()
        return job

    def cancel(self, job_id: str) -> Job:
        job = self.get(job_id)
        job.cancel.set()
        return job

    def _stop_reason(self, job: Job) -> str | None:
        now = time.monotonic()
        if job.cancel.is_set():
            return "cancelled"
        if now - job.last_seen > self.cfg.abandon_after:
            return "abandoned: nobody asked for it"
        if now - job.started > self.cfg.time_limit:
            return f"time limit of {self.cfg.time_limit:g} s reached"
        return None

    def _run(self, job: Job, photo: Path, start: Path, paintings: list[tuple[Path, float]],
             side: int, preserve_colors: bool, workdir) -> None:
        cfg = gatys.refine_config(
            self.cfg.levels,
            photo=photo, styles=tuple(paintings), out=Path(workdir.name) / "out.png", size=side,
            iterations=job.iterations, init=str(start), preserve_colors=preserve_colors,
            losses=LossConfig(style_weight=self.cfg.style_weight),
            preview_every=self.cfg.preview_every, precision=self.cfg.vgg_precision())
        job.iterations = gatys.planned_steps(cfg)  # the levels share them equally

        def on_image(step: int, picture: np.ndarray) -> None:
            job.picture = jpeg(gatys.finish(cfg, picture))

        def on_progress(step: int, losses: dict) -> None:
            job.step, job.losses = step, {k: float(f"{v:.4g}") for k, v in losses.items()}

        try:
            picture, _ = gatys.run(cfg, on_image=on_image, progress=False,
                                   should_stop=lambda: self._stop_reason(job) is not None,
                                   on_progress=on_progress)
            job.picture, job.state = jpeg(picture), "done"
            if job.step < job.iterations:  # more steps would change little that the eye sees
                job.note = "converged: 10 steps improved the loss by less than 1 %"
        except gatys.Interrupted as stop:
            reason = self._stop_reason(job) or "stopped"
            job.picture = jpeg(gatys.finish(cfg, stop.image))
            job.state = "done" if reason.startswith("time limit") else "cancelled"
            job.note = reason
        except Exception as e:  # a job's failure must not take the worker down
            job.state, job.note = "failed", f"{type(e).__name__}: {e}"
        finally:
            job.finished = time.monotonic()
            workdir.cleanup()

