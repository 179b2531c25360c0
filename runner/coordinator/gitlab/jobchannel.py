"""One job's side of GitLab's runner API: state updates, trace pieces, artifacts.

Every call carries the job's own token (``JOB-TOKEN``), and goes through the
shared client's ``send`` with its retries; answers are read the way
gitlab-runner reads them (``remote_job_state_response.go``).
"""

from __future__ import annotations

from pathlib import Path

import aiohttp

from runner.coordinator.base import RemoteState, TraceAck, UpdateAck, Upload
from runner.coordinator.gitlab.client import (
    UPLOAD_TIMEOUT_S,
    GitLabClient,
    remote_state,
    update_interval,
)


class GitLabJobChannel:
    """One job's calls, authenticated with its job token (``JobChannel``)."""

    def __init__(self, client: GitLabClient, job_id: int, token: str) -> None:
        self._client = client
        self.job_id = job_id
        self._token = token

    async def update(self, state: str, *, failure_reason: str | None = None,
                     exit_code: int | None = None, checksum: str | None = None,
                     bytesize: int | None = None) -> UpdateAck:
        """``PUT /jobs/:id``; 202 (trace still being stored) comes back as ``done=False``."""
        body: dict[str, object] = {"token": self._token, "state": state,
                                   "info": self._client.info}
        if failure_reason:
            body["failure_reason"] = failure_reason
        if exit_code:
            body["exit_code"] = exit_code
        if checksum is not None:
            body["checksum"] = checksum
            body["output"] = {"checksum": checksum, "bytesize": bytesize}
        answer = await self._client.send("update_job", "PUT", f"jobs/{self.job_id}",
                                          job_token=self._token, json=body)
        interval = update_interval(answer.headers)
        if answer.status == 200:
            return UpdateAck(remote_state(200, answer.headers), True, interval)
        if answer.status == 202:
            return UpdateAck(RemoteState.RUNNING, False, interval)
        if answer.status == 412:  # the trace_reset feature: resend the whole trace
            return UpdateAck(RemoteState.RUNNING, False, interval, reset=True)
        if answer.status in (403, 404):
            return UpdateAck(remote_state(answer.status, answer.headers), True, interval)
        raise GitLabClient.refused(f"the state {state!r} of job {self.job_id}", answer, {
            400: "the state change is not valid for this job",
            409: "another runner took this job"})

    async def append_trace(self, offset: int, data: bytes) -> TraceAck:
        """``PATCH /jobs/:id/trace`` with ``Content-Range``; a 416 tells where GitLab is."""
        answer = await self._client.send(
            "patch_trace", "PATCH", f"jobs/{self.job_id}/trace", job_token=self._token,
            data=data, headers={"Content-Range": f"{offset}-{offset + len(data) - 1}",
                                "Content-Type": "text/plain"})
        interval = update_interval(answer.headers)
        state = remote_state(answer.status, answer.headers)
        if answer.status in (202, 416):
            held = _range_end(answer.headers.get("Range", ""))
            if held is None:
                held = offset + len(data) if answer.status == 202 else offset
            return TraceAck(state, held, interval)
        if answer.status in (403, 404):
            return TraceAck(state, offset, interval)
        raise GitLabClient.refused(f"the log of job {self.job_id}", answer, {
            400: "the Content-Range header was refused"})

    async def upload(self, upload: Upload) -> None:
        """``POST /jobs/:id/artifacts``: one multipart part named ``file``, streamed."""
        params = {"artifact_format": upload.artifact_format,
                  "artifact_type": upload.artifact_type}
        if upload.expire_in:
            params["expire_in"] = upload.expire_in

        def form() -> aiohttp.FormData:
            data = aiohttp.FormData()
            data.add_field("file", upload.path.open("rb"), filename=upload.filename,
                           content_type="application/octet-stream")
            return data

        answer = await self._client.send("upload_artifacts", "POST",
                                          f"jobs/{self.job_id}/artifacts",
                                          job_token=self._token, form=form, params=params,
                                          timeout_s=UPLOAD_TIMEOUT_S)
        if answer.status != 201:
            raise GitLabClient.refused(f"the artifacts {upload.filename}", answer, {
                403: "the job is not running any more", 413: "the archive is too large",
                405: "artifacts are disabled on this GitLab"})

    async def download(self, job_id: int, token: str, dest: Path) -> bool:
        """``GET /jobs/:id/artifacts`` with the dependency's own token, into ``dest``."""
        answer = await self._client.send("download_artifacts", "GET",
                                          f"jobs/{job_id}/artifacts", job_token=token,
                                          timeout_s=UPLOAD_TIMEOUT_S, into=dest)
        if answer.status == 404:
            return False
        if answer.status != 200:
            raise GitLabClient.refused(f"the artifacts of job {job_id}", answer, {
                401: "the dependency's token was refused", 403: "access was denied"})
        return True


def _range_end(header: str) -> int | None:
    """The stored size from a ``Range: 0-N`` header."""
    _, _, end = header.partition("-")
    try:
        return int(end)
    except ValueError:
        return None
