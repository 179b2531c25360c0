"""What a container job's scripts and services see as environment, in GitLab's precedence."""

from __future__ import annotations

from runner.build.outputs import substitute
from runner.engine.argv import CONTROL_DIR
from runner.execute.context import RunContext
from runner.execute.layout import safe_name
from runner.execute.reuse import taken_dotenv
from runner.pipeline.model import Job


def job_environment(ctx: RunContext, job: Job) -> tuple[list[tuple[str, str]], dict[str, str]]:
    """The job's variables in GitLab's order of precedence, and the files some point to.

    Later entries win: predefined variables, the job's own (plain, then
    file type), dotenv variables of the jobs whose artifacts it takes
    (GitLab ranks them over job variables, but under project and pipeline
    variables: a dotenv name among ``pipeline_variables`` or file variables
    is dropped), then secrets (project-level in GitLab, which outrank
    dotenv). File contents go into the control dir, mode 0600 for the job's
    user, and never into a script or log.
    """
    files: dict[str, str] = {}

    def file_for(kind: str, name: str, content: str) -> str:
        control_name = f"{kind}-{safe_name(name)}"
        files[control_name] = content
        return f"{CONTROL_DIR}/{control_name}"

    env = ctx.predefined(job)
    env += [(name, substitute(value, ctx.outputs)) for name, value in job.variables]
    env += [(name, file_for("var", name, content)) for name, content in job.file_variables]
    outranks = {*job.pipeline_variables, *(name for name, _ in job.file_variables)}
    for need in job.needs:
        if need.artifacts:
            env += [(name, value) for name, value in ctx.dotenv.get(need.job, ())
                    if name not in outranks]
    env += [(name, value) for name, value in taken_dotenv(ctx.settings.taken, job)
            if name not in outranks]  # from needs' earlier runs (a job run alone)
    as_file = {secret.name for secret in ctx.pipeline.secrets if secret.as_file}
    for name in job.secrets:
        value = ctx.secrets[name]
        env.append((name, file_for("secret", name, value) if name in as_file else value))
    return env, files


def service_env(ctx: RunContext, job: Job) -> list[tuple[str, str]]:
    """What services see: predefined and the job's public variables, as gitlab-runner gives
    them: never secrets, files, or the project's and pipeline's (``pipeline_variables``)."""
    private = set(job.pipeline_variables)
    return [*ctx.predefined(job),
            *((name, substitute(value, ctx.outputs)) for name, value in job.variables
              if name not in private)]
