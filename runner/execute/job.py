"""One attempt of one job: prepare its workspace, run script and after_script, keep results.

The container is started by the scheduler ahead of time (``start``), so by
the time a job's needs are met only file copying stands between it and its
first line. Every ending (success, failure, timeout, Ctrl-C, a vanished
container) goes through the same ``finally``: container gone, scratch gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import shutil
import time
from pathlib import Path

import structlog

from runner.build import storelock
from runner.build.outputs import job_image, substitute
from runner.dockerapi.endpoint import JobDocker
from runner.dockerapi.policy import Scope
from runner.engine.argv import CONTROL_DIR, ContainerSpec, Resources
from runner.engine.boot import job_script, step_file
from runner.engine.imageref import ImageRef
from runner.engine.initwatch import read_pid, wait_pid
from runner.engine.podargv import PodSpec
from runner.engine.podman import ContainerGone, ImageUnavailable, JobContainer
from runner.engine.runc import RuncContainer
from runner.engine.slices import Lease
from runner.errors import EngineError, UserInputError
from runner.execute import dind, images
from runner.execute.context import Outcome, RunContext
from runner.execute.diskwatch import DiskWatch
from runner.execute.failedat import failed_line, where
from runner.execute.jobenv import job_environment, service_env
from runner.execute.keep import keep_results
from runner.execute.limits import enforced, not_enforced
from runner.execute.policy import cache_dirs
from runner.execute.results import JobStatus
from runner.execute.reuse import artifact_layers
from runner.execute.section import run_section
from runner.execute.services import READY_TIMEOUT_S, JobPod, clean_slot
from runner.execute.stepped import SteppedRun
from runner.logs.joblog import JobLog
from runner.pipeline.model import Job, RetryOn, Spot

log = structlog.get_logger(__name__)


class JobAttempt:
    """Runs ``job`` once in its own container and workspace."""

    def __init__(self, ctx: RunContext, job: Job, attempt: int, joblog: JobLog) -> None:
        self.ctx = ctx
        self.joblog = joblog
        self.wish = dind.docker_wish(job)
        """What a job with a ``docker:dind`` service gets instead: its own Docker API."""
        self.job = dataclasses.replace(job, services=dind.other_services(job)) if self.wish else job
        self.docker: JobDocker | None = None
        self.attempt = attempt
        self.work = ctx.layout.job_work(job.name, attempt)
        self.workspace = self.work / "ws"
        self.control = self.work / "ctl"
        self.bundle = self.work / "bundle"
        """A runc container's bundle (config, overlay upper dir, /etc files)."""
        self.container: JobContainer | None = None
        self.pod: JobPod | None = None
        self.limits = job.limits.capped(ctx.settings.limits)
        self._disk: DiskWatch | None = None
        """Set in ``start`` for a job with a disk limit (with its pod, if any)."""
        self._lease: Lease | None = None
        self._store_fd: int | None = None
        """Held while the job uses a tenant store (``storelock.hold``)."""


    async def start(self) -> None:
        """Create scratch dirs and start the job container (before needs are met)."""
        # 0700 and ours: another slice cannot even traverse to this job's files.
        self.work.mkdir(mode=0o700)
        self.workspace.mkdir()
        self.control.mkdir()
        settings, layout = self.ctx.settings, self.ctx.layout
        missing = sorted(self.job.output_refs() - self.ctx.outputs.keys())
        if missing:
            raise ContainerGone(f"build job {', '.join(missing)} made no image for this job")
        text, built = job_image(self.job.image, self.ctx.outputs)
        image, services = images.parse_images(text, built is not None,
                                              (s.image for s in self.job.services))
        policies = images.image_policies(self.job, image, services, settings.pull)
        plan = images.plan_images(image, built, services, self.ctx.build_env.store,
                                  images.tenant_hosts(self.ctx.pipeline.registries),
                                  policies=policies, tenant=self.wish is not None)
        store = plan.store
        if store is not None:
            self._store_fd = await storelock.hold(store)
        await self._fetch_images(plan, policies)
        try:
            self._lease = await clean_slot(self.ctx.slices, settings.runtime, self.joblog.notice)
        except EngineError as exc:
            raise ContainerGone(str(exc)) from exc
        name = layout.container_name(self.job.name, self.attempt)
        resources = enforced(self.limits, settings.controllers)
        if self.job.services or self.wish:
            self.pod = JobPod(PodSpec(
                name=f"{name}-pod", run_id=layout.run_id, job=self.job.name,
                id_base=self._lease.base,
                hosts=_aliases(self.job) + (self.wish.aliases if self.wish else ()),
                network=settings.network, runtime=settings.runtime, store=store,
            ), self.job.services, services, self.work, resources)
            self.ctx.pods.add(self.pod)
            try:
                await self.pod.create(self._lease.pod_marker)
            except EngineError as exc:
                raise ContainerGone(str(exc)) from exc
        if self.wish is not None and self.pod is not None:
            self.docker = await dind.open_docker(  # EngineError: ContainerGone, in open_docker
                self.wish, Scope(self.pod.spec.name, JobDocker.token(), layout.run_id,
                                 self.job.name, layout.project_dir(), resources),
                scratch=self.work / "docker", workspace=self.workspace, helper=self.ctx.helper,
                runtime=settings.runtime, store=store,
                private_hosts=images.tenant_hosts(self.ctx.pipeline.registries))
        spec = ContainerSpec(
            name=name,
            image=image,
            store=store,
            run_id=layout.run_id,
            job=self.job.name,
            workspace=self.workspace,
            project_dir=layout.project_dir(),
            control=self.control,
            pidfile=self.work / "pid",
            id_base=self._lease.base,
            network=settings.network,
            runtime=settings.runtime,
            pod=None if self.pod is None else self.pod.spec.name,
            resources=resources,
            mounts=tuple(self.docker.mounts()) if self.docker else (),
        )
        self.container = await self._container(spec, runnable=built is None and store is None)
        if self.limits.disk:
            self._disk = DiskWatch(self.ctx.helper, self.limits.disk,
                                   [self.workspace, self.control], self.joblog.notice, self.pod)
        self.ctx.live.add(self.container)
        if self.pod is None:
            await self.container.start(timeout_s=self.job.timeout_s)
            return
        try:
            await asyncio.gather(self.container.start(timeout_s=self.job.timeout_s),
                                 self.pod.start_services(service_env(self.ctx, self.job)))
            if self.docker is not None:
                await self.docker.attach(_pid(spec.pidfile))
        except ContainerGone:
            raise
        except (EngineError, OSError) as exc:
            raise ContainerGone(str(exc)) from exc

    async def _container(self, spec: ContainerSpec, *, runnable: bool) -> JobContainer:
        """The job's container: runc's when the engine is runc and the job fits it, else podman's.

        runc takes jobs on a public or local image from the user's store, run
        as root, with neither services nor limits; podman pulls, makes pods and
        sets cgroups, so every other job stays with it.
        """
        assert self._lease is not None
        settings = self.ctx.settings
        if (settings.engine == "runc" and runnable and self.pod is None
                and spec.resources == Resources()
                and settings.network in (None, "none")):
            info = await self.ctx.runc_image(spec.image)
            if info is not None and info.runs_as_root():
                return RuncContainer(spec, self.bundle, info, await self.ctx.runc_host(),
                                     hold_fds=(self._lease.fd,))
        return JobContainer(spec, hold_fds=(self._lease.fd,))

    async def _fetch_images(self, plan: images.ImagePlan,
                            policies: dict[ImageRef, tuple[str, ...]]) -> None:
        """Pull or copy the images the plan names (podman pulls the rest as it runs)."""
        settings = self.ctx.settings
        if self.job.image_from is not None:
            self.joblog.notice(f"runner: Using default image {self.job.image} "
                               f"(from {self.job.image_from})")
        fetcher = images.Fetcher(self.ctx.pipeline.registries, self.ctx.secrets,
                                 self.ctx.build_env.standard_authfile, settings.pull,
                                 recheck_private=settings.recheck_private_images,
                                 policies=policies)
        try:
            async with asyncio.timeout(self.job.timeout_s):
                await fetcher.fetch(plan, self.work / "registry", self.joblog.output,
                                    self.joblog.notice, self.ctx.has_image)
        except TimeoutError:
            raise ImageUnavailable(f"the job's images were not fetched within its timeout "
                                   f"({self.job.timeout_s:g}s)") from None
        except (EngineError, UserInputError, OSError) as exc:
            if isinstance(exc, ImageUnavailable):
                raise
            raise ImageUnavailable(f"the job's images could not be fetched: {exc}") from exc
        finally:
            self.joblog.end_stream()
            if self.work.joinpath("registry").exists():
                shutil.rmtree(self.work / "registry", ignore_errors=True)

    async def run(self) -> Outcome:
        """Run the job in the started container.

        Clean-up (container removal, scratch dirs) always follows, in the
        background: the outcome is final once the container has no process left.
        """
        try:
            return await self._run()
        except ContainerGone as exc:
            if self.ctx.interruption.killing.is_set():
                return Outcome(JobStatus.CANCELED, note="killed")
            self.joblog.notice(f"runner: {exc}")
            return Outcome(JobStatus.FAILED, note="container ended unexpectedly",
                           failure=RetryOn.SYSTEM_FAILURE)
        except EngineError as exc:  # workspace copy failed: this job fails, the run goes on
            self.joblog.notice(f"runner: {exc}")
            return Outcome(JobStatus.FAILED, note="workspace files could not be copied",
                           failure=RetryOn.SYSTEM_FAILURE)
        finally:
            self.ctx.cleanups.append(asyncio.create_task(self.discard()))
            self.joblog.end_stream()

    async def discard(self) -> None:
        """Remove the container (if podman has not already) and the scratch dirs."""
        began = time.monotonic()
        container, self.container = self.container, None
        if container is not None:
            try:
                with contextlib.suppress(ContainerGone):
                    await container.kill()
            finally:
                self.ctx.live.discard(container)
        if self.docker is not None:
            await self.docker.close()
        if self.pod is not None:
            await self.pod.remove()
            if not self.pod.created:  # else the run's last pass tries again
                self.ctx.pods.discard(self.pod)
        if self._lease is not None:
            self._lease.release()
            self._lease = None
        if self._store_fd is not None:
            os.close(self._store_fd)
            self._store_fd = None
        removed = time.monotonic()
        if self.work.exists():
            await self.ctx.helper.remove(self.work)
        log.info("job_cleaned", job=self.job.name, attempt=self.attempt,
                 container_s=round(removed - began, 3),
                 scratch_s=round(time.monotonic() - removed, 3))

    async def _run(self) -> Outcome:
        container = self.container
        assert container is not None
        await self._prepare(container)
        project_dir = self.ctx.layout.project_dir()
        image = substitute(self.job.image, self.ctx.outputs)
        self.joblog.notice(f"runner: image {image}, project dir {project_dir}")
        if unenforced := not_enforced(self.limits, self.ctx.settings.controllers):
            self.joblog.notice(f"runner: warning: {', '.join(unenforced)} limits are not enforced"
                               " on this host (rootless podman needs cgroup v2 with delegated "
                               "controllers; `runner doctor` says what is missing)")
        if self.pod is not None:
            unhealthy = await self.pod.wait_ready(
                self.ctx.helper, _pid(container.spec.pidfile), self.joblog.notice,
                self.ctx.interruption.canceling, timeout_s=min(READY_TIMEOUT_S, self.job.timeout_s),
                job_timeout_s=self.job.timeout_s)
            if unhealthy:  # as GitHub's runner: no step runs; discard() removes the pod
                return Outcome(JobStatus.FAILED, note=f"service {', '.join(unhealthy)} unhealthy",
                               failure=RetryOn.SCRIPT_FAILURE)
        job = self.job
        if job.steps is not None:
            outcome = await self._stepped(container)
        else:
            outcome = await self._scripts(container)
        await container.stop(self.ctx.settings.kill_grace_s)
        if self.docker is not None:  # no container may be made while results are collected
            await self.docker.close()
        if self.pod is not None:  # no service may be left to change what is collected
            await self.pod.end()
        await keep_results(self.ctx, self.job, self.workspace, self.joblog, outcome.status,
                           budget=self._result_budget(), exit_code=outcome.exit_code)
        return outcome

    async def _scripts(self, container: JobContainer) -> Outcome:
        """A script job: ``script`` in one shell, then the ``after_script`` for its outcome."""
        job = self.job
        outcome = await self._section(container, "script.sh", job.timeout_s, True)
        outcome = self._failed_at("the job", job.script, job.script_spots, outcome)
        if outcome.status is JobStatus.TIMED_OUT:
            self.joblog.notice(f"runner: job timed out after {job.timeout_s:g}s")
        if container.ended and job.after_script:
            self.joblog.notice("runner: after_script not run: the job's container was killed")
        elif job.after_script and not self.ctx.interruption.killing.is_set():
            status = _after_status(outcome.status)
            self.joblog.notice(f"runner: running after_script (CI_JOB_STATUS={status})")
            after = await self._section(container, f"after-{status}.sh",
                                        self.ctx.settings.after_script_timeout_s, False)
            after = self._failed_at("after_script", job.after_script, job.after_script_spots,
                                    after)
            if after.status not in (JobStatus.SUCCESS, JobStatus.FAILED):
                self.joblog.notice(f"runner: after_script {after.status.value} "
                                   f"(exit {after.exit_code})")
        return outcome

    async def _stepped(self, container: JobContainer) -> Outcome:
        """A stepped job (GitHub's): its steps one by one, as its dialect decides them."""
        job = self.job
        ports = {service.aliases[0]: {str(p): str(p) for p in service.ports}
                 for service in job.services if service.aliases}
        run = SteppedRun(self.ctx, job, self.attempt, self.joblog, container=container,
                         pid=await _waited_pid(container.spec.pidfile), control=self.control,
                         disk=self._disk, service_ports=ports)
        return await run.run()

    def _failed_at(self, what: str, lines: tuple[str, ...], spots: tuple[Spot, ...],
                   outcome: Outcome) -> Outcome:
        """Name the line of a script that failed by itself (not a timeout, not a limit)."""
        if (outcome.status is not JobStatus.FAILED or outcome.note
                or outcome.exit_code is None or self.container is None):
            return outcome
        step = self.container.last_step
        self.joblog.notice(failed_line(what, lines, spots, step, outcome.exit_code))
        return dataclasses.replace(outcome, failed_at=where(lines, spots, step))

    async def _prepare(self, container: JobContainer) -> None:
        layout, job = self.ctx.layout, self.job
        project_dir = layout.project_dir()
        env, files = job_environment(self.ctx, job)
        if self.docker is not None:
            env = [*dind.ENVIRONMENT, *env]
        color = self.ctx.console.color
        scripts = {"script.sh": job_script(job.script, workdir=project_dir, env=env, color=color,
                                           step_file=step_file(f"{CONTROL_DIR}/script.sh"))}
        # One after_script per outcome, each with GitLab's CI_JOB_STATUS for it: the
        # outcome is known only later, and the job's files are written only now.
        for status in AFTER_STATUSES if job.after_script else ():
            scripts[f"after-{status}.sh"] = job_script(
                job.after_script, workdir=project_dir, env=[*env, ("CI_JOB_STATUS", status)],
                color=color, step_file=step_file(f"{CONTROL_DIR}/after-{status}.sh"))
        layers = [*self.ctx.settings.extra_layers,
                  *artifact_layers(layout, self.ctx.settings.taken, job)]
        await self.ctx.helper.prepare(
            workspace=self.workspace,
            control=self.control,
            uid=container.uid,
            gid=container.gid,
            source=layout.root,
            files=self.ctx.files,
            layers=[layer for layer in layers if layer.is_dir()],
            caches=cache_dirs(self.job, self.ctx.layout.cache, self.joblog.notice),
            scripts={**files, **scripts},
        )

    async def _section(
        self, container: JobContainer, script: str, timeout_s: float, cancelable: bool
    ) -> Outcome:
        """``section.run_section`` with this attempt's log, Ctrl-C, grace period and disk."""
        return await run_section(container, script, self.joblog, timeout_s=timeout_s,
                                 cancelable=cancelable, interruption=self.ctx.interruption,
                                 grace_s=self.ctx.settings.kill_grace_s, disk=self._disk)

    def _result_budget(self) -> int:
        """What one artifacts or cache collect may copy: the host's cap, or the job's disk."""
        cap = self.ctx.settings.max_result_bytes
        return min(cap, self.limits.disk) if self.limits.disk else cap


AFTER_STATUSES = ("success", "failed", "canceled")


def _after_status(status: JobStatus) -> str:
    """``CI_JOB_STATUS`` as after_script sees it in GitLab (a timeout is a failure)."""
    if status is JobStatus.SUCCESS:
        return "success"
    return "canceled" if status is JobStatus.CANCELED else "failed"


def _aliases(job: Job) -> tuple[str, ...]:
    """Every service alias of the job, once each, for the pod's /etc/hosts."""
    return tuple(dict.fromkeys(alias for service in job.services for alias in service.aliases))


async def _waited_pid(pidfile: Path) -> int:
    """``_pid`` once podman has written it (conmon may write it late under load)."""
    await wait_pid(pidfile)
    return _pid(pidfile)


def _pid(pidfile: Path) -> int:
    """The host pid of the job container's PID 1, which podman or runc wrote at start."""
    pid = read_pid(pidfile)
    if pid is None:
        raise ContainerGone(f"the job container's pid is unknown (nothing usable in {pidfile})")
    return pid
