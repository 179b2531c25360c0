"""The hook input as actions/runner 2.336 serializes it, nulls included."""

from __future__ import annotations

import json

import pytest

from runner.ghhook.hookinput import HookInputError, parse_input

PREPARE = (
    '{"command":"prepare_job","responseFile":"/r/_work/_temp/_runner_hook_responses/1.json",'
    '"args":{"container":{"image":"node:20","dockerfile":null,"entryPointArgs":[],'
    '"entryPoint":null,"workingDirectory":"/__w/demo/demo","createOptions":"--user 1001",'
    '"registry":{"username":"u","password":"p4ss","serverUrl":"https://ghcr.io"},'
    '"environmentVariables":{"HOME":"/github/home","NODE_ENV":"test"},"portMappings":[],'
    '"systemMountVolumes":[{"userProvidedValue":null,"sourceVolumePath":"/var/run/docker.sock",'
    '"targetVolumePath":"/var/run/docker.sock","readOnly":false},{"userProvidedValue":null,'
    '"sourceVolumePath":"/r/externals","targetVolumePath":"/__e","readOnly":true}],'
    '"userMountVolumes":[]},"services":[{"image":"redis","dockerfile":null,'
    '"entryPointArgs":[],"entryPoint":null,"workingDirectory":null,"createOptions":null,'
    '"registry":null,"environmentVariables":{},"portMappings":["6379:6379"],'
    '"systemMountVolumes":[],"userMountVolumes":[{"userProvidedValue":"data:/data",'
    '"sourceVolumePath":"data","targetVolumePath":"/data","readOnly":false}]}]},"state":null}'
)


def test_prepare_job_as_recorded() -> None:
    found = parse_input(PREPARE + "\n")
    assert found.command == "prepare_job"
    assert found.state is None
    job = found.container
    assert job is not None and job.image == "docker.io/library/node:20"
    assert job.env == (("HOME", "/github/home"), ("NODE_ENV", "test"))
    assert job.system_mounts[1].read_only is True
    assert job.registry is not None and job.registry.server == "https://ghcr.io"
    assert "p4ss" not in repr(job.registry)
    assert found.services[0].port_mappings == ("6379:6379",)
    assert found.services[0].user_mounts[0].source == "data"


def test_run_script_step_and_the_old_string_prepend_path() -> None:
    doc = {"command": "run_script_step", "responseFile": "/r/x.json",
           "args": {"entryPointArgs": ["-e", "/__w/_temp/a.sh"], "entryPoint": "sh",
                    "environmentVariables": {"A": "1"}, "prependPath": "/opt/bin",
                    "workingDirectory": "/__w/d/d"}, "state": {"job": "gh0123456789ab"}}
    found = parse_input(json.dumps(doc))
    assert found.script is not None
    assert found.script.prepend_path == ("/opt/bin",)
    assert found.script.entry_point_args == ("-e", "/__w/_temp/a.sh")


def test_docker_action_prefix_and_dockerfile_step() -> None:
    doc = {"command": "run_container_step", "responseFile": None, "state": None,
           "args": {"image": None, "dockerfile": "/r/_work/_actions/o/r/v1/Dockerfile"}}
    assert parse_input(json.dumps(doc)).container is not None


@pytest.mark.parametrize(("text", "said"), [
    ("", "empty"),
    ("{not json", "not JSON"),
    ('{"command":"bogus"}', "'command'"),
    ('{"command":"prepare_job","args":{"container":{"image":"-v=/:/h"}}}',
     "args.container.image"),
    ('{"command":"prepare_job","args":{"services":{"a":1}}}', "args.services"),
    ('{"command":"run_script_step","args":{"entryPoint":"sh","entryPointArgs":[1]}}',
     "args.entryPointArgs"),
    ('{"command":"cleanup_job","args":{},"state":[1]}', "'state'"),
])
def test_bad_input_names_its_key(text: str, said: str) -> None:
    with pytest.raises(HookInputError, match=said):
        parse_input(text)
