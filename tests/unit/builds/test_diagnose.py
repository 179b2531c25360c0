"""Tests of runner.build.diagnose on buildah output as buildah really prints it."""

from __future__ import annotations

from runner.build.diagnose import CLI_ADVICE, error_line, explain_build, explain_push
from runner.engine.buildah import Finished
from runner.pipeline.model import Registry
from tests.unit.builds.samples import MULTI

RUN_FAILED = Finished(1, (
    "[1/2] STEP 1/2: FROM localhost/busybox:latest AS one",
    "[1/2] STEP 2/2: RUN echo ok",
    "ok",
    "--> 9098eb1002b",
    "[2/2] STEP 1/3: FROM 9098eb1002be6114fa1f6b5fc2dedca83ba0669a0ee42190d79f18312a4a2b98",
    "[2/2] STEP 2/3: RUN echo a &&     false",
    "a",
    'Error: building at STEP "RUN echo a &&     false": while running runtime: exit status 1',
))
UNKNOWN_INSTRUCTION = Finished(125, (
    "STEP 1/2: FROM localhost/busybox:latest",
    "STEP 2/2: FOO bar",
    'Error: building at STEP "FOO ": Build error: Unknown instruction: "FOO"'
    " &imagebuilder.Step{...}",
))
PUSH_HEAD = ('Error: pushing image "sha256:bfe5c2d7" to "docker://127.0.0.1:34407/cli:1": '
             "trying to reuse blob sha256:27d5ee at destination: ")
AUTH_REFUSED = Finished(125, (
    "Getting image source signatures",
    PUSH_HEAD + "checking whether a blob sha256:27d5ee exists in 127.0.0.1:34407/cli: "
    "unauthorized: authentication required",
))
AUTH_SAID = AUTH_REFUSED.tail[-1].removeprefix("Error: ")


# -- error_line ------------------------------------------------------------------------


def test_error_line_is_the_last_error_line() -> None:
    """buildah's last ``Error:`` line, without the prefix."""
    done = Finished(1, ("Error: first", "more output", "Error: second  ", "trailing"))
    assert error_line(done) == "second"


def test_error_line_takes_logrus_errors() -> None:
    """A ``level=error`` line counts as an error line, kept whole."""
    line = 'time="2024-01-01T00:00:00Z" level=error msg="exit status 1"'
    assert error_line(Finished(1, ("x", line, "y"))) == line


def test_error_line_without_error_lines() -> None:
    """No error line: the last line; no output at all: the exit status."""
    assert error_line(Finished(2, ("one", "  killed  "))) == "killed"
    assert error_line(Finished(137, ())) == "exit status 137"


# -- explain_build -------------------------------------------------------------------


def test_explain_build_failing_run_step_points_at_its_line() -> None:
    """A continued RUN in the second stage fails: the message names Containerfile:5."""
    assert explain_build(RUN_FAILED, "Containerfile", MULTI) == (
        "buildah build failed (exit 1) at Containerfile:5: RUN echo a &&     false\n"
        'buildah said: building at STEP "RUN echo a &&     false": while running runtime:'
        " exit status 1"
    )


def test_explain_build_parse_error_points_at_the_unknown_instruction() -> None:
    """An unknown instruction in a single-stage file: its line, buildah's words kept."""
    text = "FROM localhost/busybox:latest\nFOO bar\n"
    assert explain_build(UNKNOWN_INSTRUCTION, "app/Dockerfile", text) == (
        "buildah build failed (exit 125) at app/Dockerfile:2: FOO bar\n"
        'buildah said: building at STEP "FOO ": Build error: Unknown instruction: "FOO"'
    )


def test_explain_build_step_not_in_the_file_names_the_file_only() -> None:
    """When the step's text is not in the file, no line number is guessed."""
    done = Finished(125, (
        "[2/2] STEP 1/3: FROM 9098eb1002be6114fa1f6b5fc2dedca83ba0669a0ee42190d79f18312a4a2b98",
        "Error: creating build container: no such image",
    ))
    assert explain_build(done, "Containerfile", MULTI) == (
        "buildah build failed (exit 125) at Containerfile: FROM "
        "9098eb1002be6114fa1f6b5fc2dedca83ba0669a0ee42190d79f18312a4a2b98\n"
        "buildah said: creating build container: no such image"
    )


def test_explain_build_without_a_step_line() -> None:
    """A failure before any step (the tail has no STEP line): buildah's error only."""
    done = Finished(125, (
        "Error: the specified Containerfile or Dockerfile does not exist, /w/Containerfile:"
        " no such file or directory",
    ))
    assert explain_build(done, "Containerfile", MULTI) == (
        "buildah build failed (exit 125): the specified Containerfile or Dockerfile does not"
        " exist, /w/Containerfile: no such file or directory"
    )


def test_explain_build_without_output() -> None:
    """Killed with no output: the exit status is all there is."""
    assert explain_build(Finished(137, ()), "Containerfile", MULTI) == (
        "buildah build failed (exit 137): exit status 137"
    )


# -- explain_push ----------------------------------------------------------------------


def test_explain_push_auth_refused_without_pipeline_credentials() -> None:
    """No credentials in the pipeline: log in, or add them under 'registries'."""
    assert explain_push(AUTH_REFUSED, "127.0.0.1:34407/cli:1", ()) == (
        "registry 127.0.0.1:34407 refused the credentials for 127.0.0.1:34407/cli:1: log in"
        " with `buildah login 127.0.0.1:34407` as this user, or give the pipeline credentials"
        " under 'registries: {127.0.0.1:34407: {username, password_secret}}'. buildah said: "
        + AUTH_SAID
    )


def test_explain_push_auth_refused_registry_entry_without_credentials() -> None:
    """A registry entry with only a CA gives the same advice as none at all."""
    registries = [Registry("127.0.0.1:34407", insecure=True)]
    got = explain_push(AUTH_REFUSED, "127.0.0.1:34407/cli:1", registries)
    assert got == explain_push(AUTH_REFUSED, "127.0.0.1:34407/cli:1", ())


def test_explain_push_auth_refused_with_pipeline_credentials() -> None:
    """Credentials from the pipeline: check the password in the named secret."""
    registries = [
        Registry("other.example.com", username="x", password_secret="OTHER"),
        Registry("127.0.0.1:34407", username="ci", password_secret="REG_PW"),
    ]
    assert explain_push(AUTH_REFUSED, "127.0.0.1:34407/cli:1", registries) == (
        "registry 127.0.0.1:34407 refused the credentials for 127.0.0.1:34407/cli:1: check the"
        " password in secret 'REG_PW' for user 'ci' (registries.127.0.0.1:34407 in the"
        " pipeline). buildah said: " + AUTH_SAID
    )


def test_explain_push_tls_unknown_authority() -> None:
    """An unknown CA: set 'ca_file' (or 'insecure') for that registry."""
    done = Finished(125, (
        'Error: pushing image "sha256:bfe5c2d7" to "docker://reg.example.com/app:1": '
        'pinging container registry reg.example.com: Get "https://reg.example.com/v2/": '
        "tls: failed to verify certificate: x509: certificate signed by unknown authority",
    ))
    assert explain_push(done, "reg.example.com/app:1", ()) == (
        "could not verify the TLS certificate of registry reg.example.com: set 'ca_file' under"
        " 'registries: {reg.example.com: ...}' (or 'insecure: true' for a plain-HTTP test"
        " registry). buildah said: " + done.tail[0].removeprefix("Error: ")
    )


PLAIN_HTTP = Finished(125, (
    'Error: pushing image "sha256:bfe5c2d7" to "docker://127.0.0.1:5000/app:1": '
    'pinging container registry 127.0.0.1:5000: Get "https://127.0.0.1:5000/v2/": '
    "http: server gave HTTP response to HTTPS client",
))


def test_explain_push_plain_http_registry_in_a_pipeline() -> None:
    """An HTTP-only registry answers TLS with HTTP: say so, and the pipeline's opt-in."""
    assert explain_push(PLAIN_HTTP, "127.0.0.1:5000/app:1", ()) == (
        "registry 127.0.0.1:5000 speaks plain HTTP, not HTTPS: set 'insecure: true' under"
        " 'registries: {127.0.0.1:5000: ...}' if that is intended. buildah said: "
        + PLAIN_HTTP.tail[0].removeprefix("Error: ")
    )


def test_the_cli_gets_the_clis_own_fixes() -> None:
    """`runner build --push` has no pipeline file: its advice names its own options
    (issue 15, bug 5: it advised a pipeline key)."""
    said = PLAIN_HTTP.tail[0].removeprefix("Error: ")
    assert explain_push(PLAIN_HTTP, "127.0.0.1:5000/app:1", (), CLI_ADVICE) == (
        "registry 127.0.0.1:5000 speaks plain HTTP, not HTTPS: pass --insecure-registry"
        " 127.0.0.1:5000 if that is intended. buildah said: " + said
    )
    assert explain_push(AUTH_REFUSED, "127.0.0.1:34407/cli:1", (), CLI_ADVICE) == (
        "registry 127.0.0.1:34407 refused the credentials for 127.0.0.1:34407/cli:1: log in"
        " with `buildah login 127.0.0.1:34407` as this user, or pass --authfile FILE. buildah"
        " said: " + AUTH_SAID
    )
    handshake = Finished(125, ('Error: pinging container registry 127.0.0.1:5000: Get'
                               ' "https://127.0.0.1:5000/v2/": tls: first record does not look'
                               " like a TLS handshake",))
    assert explain_push(handshake, "127.0.0.1:5000/app:1", (), CLI_ADVICE).startswith(
        "registry 127.0.0.1:5000 speaks plain HTTP, not HTTPS: pass --insecure-registry")
    unknown_ca = Finished(125, ("Error: x509: certificate signed by unknown authority",))
    assert explain_push(unknown_ca, "reg.example.com/app:1", (), CLI_ADVICE) == (
        "could not verify the TLS certificate of registry reg.example.com: pass --registry-ca"
        " reg.example.com=CA.pem (or --insecure-registry reg.example.com for a plain-HTTP test"
        " registry). buildah said: x509: certificate signed by unknown authority"
    )


def test_explain_push_unreachable() -> None:
    """Connection refused: is the registry up, is the address right (after every retry)."""
    done = Finished(125, (
        'Error: pushing image "sha256:bfe5c2d7" to "docker://127.0.0.1:5999/cli:1": '
        'pinging container registry 127.0.0.1:5999: Get "https://127.0.0.1:5999/v2/": '
        "dial tcp 127.0.0.1:5999: connect: connection refused",
    ))
    assert explain_push(done, "127.0.0.1:5999/cli:1", ()) == (
        "registry 127.0.0.1:5999 could not be reached to push 127.0.0.1:5999/cli:1 (tried 4"
        " times): is it up and is the address right? buildah said: "
        + done.tail[0].removeprefix("Error: ")
    )


def test_explain_push_other_failure() -> None:
    """Anything else: buildah's own words with the exit status."""
    done = Finished(125, (
        "Writing manifest to image destination",
        'Error: pushing image "sha256:bfe5c2d7" to "docker://reg.example.com/app:1": '
        "writing manifest: uploading manifest 1 to reg.example.com/app: manifest invalid",
    ))
    assert explain_push(done, "reg.example.com/app:1", ()) == (
        'pushing reg.example.com/app:1 failed (exit 125): pushing image "sha256:bfe5c2d7" to'
        ' "docker://reg.example.com/app:1": writing manifest: uploading manifest 1 to'
        " reg.example.com/app: manifest invalid"
    )


def test_explain_push_401_inside_a_digest_is_not_an_auth_failure() -> None:
    """A refused connection whose output holds a digest with '401' in it is still unreachable."""
    done = Finished(125, (
        "Copying blob sha256:9c4015be0e0a",
        'Error: pushing image "sha256:bfe5c2d7" to "docker://127.0.0.1:5999/cli:1": '
        'pinging container registry 127.0.0.1:5999: Get "https://127.0.0.1:5999/v2/": '
        "dial tcp 127.0.0.1:5999: connect: connection refused",
    ))
    assert explain_push(done, "127.0.0.1:5999/cli:1", ()).startswith(
        "registry 127.0.0.1:5999 could not be reached"
    )
