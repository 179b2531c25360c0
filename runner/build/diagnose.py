"""buildah's failures told in one paragraph: which Containerfile line, which registry, why.

buildah's own words are kept (its ``Error:`` line); what is added is where
(the Containerfile line of the failing step) and what to do (the registry's
credentials, CA or reachability), which buildah leaves the user to work out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from runner.build import containerfile
from runner.build.access import registry_host
from runner.engine.buildah import Finished
from runner.engine.buildargv import RETRIES
from runner.pipeline.model import Registry

_AUTH = re.compile(r"unauthorized|authentication required|(?<![\w.:])401(?![\w.:])|"
                   r"invalid username/password", re.IGNORECASE)
_UNREACHABLE = re.compile(r"connection refused|no such host|i/o timeout|network is unreachable|"
                          r"no route to host|connection reset", re.IGNORECASE)
_TLS = re.compile(r"x509:|certificate|tls:|server gave HTTP response to HTTPS", re.IGNORECASE)
_PLAIN_HTTP = re.compile(r"server gave HTTP response to HTTPS|first record does not look like a"
                         r" TLS handshake", re.IGNORECASE)
"""Go's two answers when an HTTPS request meets a server that speaks plain HTTP."""


@dataclass(frozen=True)
class Advice:
    """How to change a registry's access where the build was asked for; ``{host}`` is filled.

    A pipeline's build is fixed in its file (``registries:``), ``runner
    build``'s on its command line: each gets the fix it can apply.
    """

    login: str
    ca: str
    plain_http: str


PIPELINE_ADVICE = Advice(
    login=("log in with `buildah login {host}` as this user, or give the pipeline credentials"
           " under 'registries: {{{host}: {{username, password_secret}}}}'"),
    ca=("set 'ca_file' under 'registries: {{{host}: ...}}' (or 'insecure: true' for a"
        " plain-HTTP test registry)"),
    plain_http="set 'insecure: true' under 'registries: {{{host}: ...}}' if that is intended",
)
CLI_ADVICE = Advice(
    login="log in with `buildah login {host}` as this user, or pass --authfile FILE",
    ca=("pass --registry-ca {host}=CA.pem (or --insecure-registry {host} for a plain-HTTP"
        " test registry)"),
    plain_http="pass --insecure-registry {host} if that is intended",
)


def error_line(done: Finished) -> str:
    """buildah's own error message: its last ``Error:`` line, else its last line."""
    for line in reversed(done.tail):
        if line.startswith("Error: ") or "level=error" in line:
            # buildah 1.28 appends a Go struct dump to parse errors; it helps nobody.
            return line.removeprefix("Error: ").split(" &imagebuilder.Step{")[0].strip()
    return done.tail[-1].strip() if done.tail else f"exit status {done.code}"


def explain_build(done: Finished, file: str, text: str) -> str:
    """Why ``buildah build`` failed, pointing at the step's line of ``file`` when known."""
    at = None
    for line in done.tail:
        at = containerfile.progress(line) or at
    message = error_line(done)
    if at is None:
        return f"buildah build failed (exit {done.code}): {message}"
    line_no = containerfile.line_of(text, at)
    where = f"{file}:{line_no}" if line_no is not None else file
    return (f"buildah build failed (exit {done.code}) at {where}: {at.text}\n"
            f"buildah said: {message}")


def explain_push(done: Finished, destination: str, registries: Sequence[Registry],
                 advice: Advice = PIPELINE_ADVICE) -> str:
    """Why a push failed, with what to change for the registry it went to."""
    host = registry_host(destination)
    message = error_line(done)
    known = next((r for r in registries if r.host == host), None)
    text = "\n".join(done.tail)
    if _AUTH.search(text):
        if known is not None and known.username is not None:
            fix = (f"check the password in secret '{known.password_secret}' for user "
                   f"'{known.username}' (registries.{host} in the pipeline)")
        else:
            fix = advice.login.format(host=host)
        return f"registry {host} refused the credentials for {destination}: {fix}. buildah " \
               f"said: {message}"
    if _PLAIN_HTTP.search(text):
        return (f"registry {host} speaks plain HTTP, not HTTPS: "
                f"{advice.plain_http.format(host=host)}. buildah said: {message}")
    if _TLS.search(text):
        return (f"could not verify the TLS certificate of registry {host}: "
                f"{advice.ca.format(host=host)}. buildah said: {message}")
    if _UNREACHABLE.search(text):
        return (f"registry {host} could not be reached to push {destination} (tried "
                f"{RETRIES + 1} times): is it up and is the address right? buildah said: "
                f"{message}")
    return f"pushing {destination} failed (exit {done.code}): {message}"
