"""Tests of runner.pipeline.native on invalid files: every error's spot and exact message."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import NamedTuple

import pytest

from runner.errors import PipelineError, SourceSpot
from runner.pipeline.native import parse_native

NOT_REF = (" is not an image reference (like 'alpine:3.19' or"
           " 'registry.example.com/group/image:tag'; lowercase path, no spaces,"
           " not starting with '-')")
"""How every native-format image error ends (``runner.engine.imageref.why_not``)."""


class Case(NamedTuple):
    id: str
    yaml: str
    line: int
    column: int
    key: str | None
    message: str


HEAD = "version: 1\nimage: i\n"
"""Two lines most cases start with, so their jobs begin on line 3."""

CASES = [
    # -- top level ------------------------------------------------------------
    Case(
        "missing-version",
        "jobs: {a: {script: x}}\n",
        1,
        1,
        "version",
        "the pipeline has no 'version'; add 'version: 1'",
    ),
    Case(
        "version-string",
        "version: '1'\njobs: {a: {script: x}}\n",
        1,
        10,
        "version",
        "'version' must be the number 1, got a string",
    ),
    Case(
        "version-bool",
        "version: true\njobs: {a: {script: x}}\n",
        1,
        10,
        "version",
        "'version' must be the number 1, got a boolean",
    ),
    Case(
        "version-2",
        "version: 2\njobs: {a: {script: x}}\n",
        1,
        10,
        "version",
        "unsupported version 2; this runner reads version 1",
    ),
    Case(
        "unknown-top-key",
        HEAD + "job:\n  a: {script: x}\n",
        3,
        1,
        "job",
        "unknown key 'job' at the top level; did you mean 'jobs'?",
    ),
    Case(
        "unknown-top-key-no-match",
        HEAD + "zzz: 1\njobs: {a: {script: x}}\n",
        3,
        1,
        "zzz",
        "unknown key 'zzz' at the top level; valid keys are 'version', 'image', 'variables',"
        " 'stages', 'secrets', 'registries', 'jobs'",
    ),
    Case("missing-jobs", HEAD, 1, 1, "jobs", "the pipeline has no 'jobs'; add at least one job"),
    Case("empty-jobs", HEAD + "jobs: {}\n", 3, 7, "jobs", "'jobs' is empty; add at least one job"),
    Case(
        "jobs-list",
        HEAD + "jobs: [a, b]\n",
        3,
        7,
        "jobs",
        "'jobs' must be a mapping, got a list",
    ),
    Case(
        "image-empty",
        "version: 1\nimage: ''\njobs: {a: {script: x}}\n",
        2,
        8,
        "image",
        "the top-level 'image' must not be empty",
    ),
    Case(
        "image-spaces",
        "version: 1\nimage: a b\njobs: {a: {script: x}}\n",
        2,
        8,
        "image",
        "the top-level 'image': 'a b'" + NOT_REF,
    ),
    Case(
        "image-like-an-option",
        "version: 1\nimage: --privileged=x.y/z\njobs: {a: {script: x}}\n",
        2,
        8,
        "image",
        "the top-level 'image': '--privileged=x.y/z'" + NOT_REF,
    ),
    Case(
        "image-number",
        "version: 1\nimage: 5\njobs: {a: {script: x}}\n",
        2,
        8,
        "image",
        "the top-level 'image' must be a string, got a number",
    ),
    Case(
        "variable-null",
        HEAD + "variables:\n  A:\njobs: {a: {script: x}}\n",
        4,
        5,
        "variables.A",
        "variable 'A' must be a string, number or boolean, got nothing (null);"
        " write '' for an empty value",
    ),
    Case(
        "variable-list",
        HEAD + "variables:\n  A: [1]\njobs: {a: {script: x}}\n",
        4,
        6,
        "variables.A",
        "variable 'A' must be a string, number or boolean, got a list",
    ),
    Case(
        "variable-name",
        HEAD + "variables:\n  1A: x\njobs: {a: {script: x}}\n",
        4,
        3,
        "variables.1A",
        "variable name '1A' is not allowed; use letters, digits and '_', not starting with a digit",
    ),
    Case(
        "variables-list",
        HEAD + "variables: [A]\njobs: {a: {script: x}}\n",
        3,
        12,
        "variables",
        "the top-level 'variables' must be a mapping, got a list",
    ),
    Case(
        "stages-empty",
        HEAD + "stages: []\njobs: {a: {script: x}}\n",
        3,
        9,
        "stages",
        "'stages' is empty; name at least one stage",
    ),
    Case(
        "stages-duplicate",
        HEAD + "stages: [build, test, build]\njobs: {a: {script: x}}\n",
        3,
        23,
        "stages[2]",
        "stage 'build' is listed twice",
    ),
    Case(
        "stages-number",
        HEAD + "stages: [build, 2]\njobs: {a: {script: x}}\n",
        3,
        17,
        "stages[1]",
        "a stage name must be a string, got a number",
    ),
    Case(
        "stages-string",
        HEAD + "stages: build\njobs: {a: {script: x}}\n",
        3,
        9,
        "stages",
        "'stages' must be a list, got a string",
    ),
    # -- secrets --------------------------------------------------------------
    Case(
        "secret-name",
        HEAD + "secrets:\n  my-token: {env: T}\njobs: {a: {script: x}}\n",
        4,
        3,
        "secrets.my-token",
        "secret name 'my-token' is not allowed; use letters, digits and '_',"
        " not starting with a digit",
    ),
    Case(
        "secret-both",
        HEAD + "secrets:\n  T: {env: T, file: f}\njobs: {a: {script: x}}\n",
        4,
        6,
        "secrets.T",
        "secret 'T' must have exactly one of 'env' (an environment variable of 'runner exec')"
        " or 'file' (a file path)",
    ),
    Case(
        "secret-neither",
        HEAD + "secrets:\n  T: {}\njobs: {a: {script: x}}\n",
        4,
        6,
        "secrets.T",
        "secret 'T' must have exactly one of 'env' (an environment variable of 'runner exec')"
        " or 'file' (a file path)",
    ),
    Case(
        "secret-unknown-key",
        HEAD + "secrets:\n  T: {envv: T}\njobs: {a: {script: x}}\n",
        4,
        7,
        "secrets.T.envv",
        "unknown key 'envv' in secret 'T'; did you mean 'env'?",
    ),
    Case(
        "secret-env-number",
        HEAD + "secrets:\n  T: {env: 5}\njobs: {a: {script: x}}\n",
        4,
        12,
        "secrets.T.env",
        "'env' of secret 'T' must be a string, got a number",
    ),
    Case(
        "secret-env-equals",
        HEAD + "secrets:\n  T: {env: A=B}\njobs: {a: {script: x}}\n",
        4,
        12,
        "secrets.T.env",
        "'env' of secret 'T' is not a valid variable name",
    ),
    Case(
        "secret-file-empty",
        HEAD + "secrets:\n  T: {file: ''}\njobs: {a: {script: x}}\n",
        4,
        13,
        "secrets.T.file",
        "'file' of secret 'T' must not be empty",
    ),
    Case(
        "secret-file-nul",
        HEAD + 'secrets:\n  T: {file: "a\\0b"}\njobs: {a: {script: x}}\n',
        4,
        13,
        "secrets.T.file",
        "'file' of secret 'T' contains a NUL character",
    ),
    Case(
        "secret-string",
        HEAD + "secrets:\n  T: T\njobs: {a: {script: x}}\n",
        4,
        6,
        "secrets.T",
        "secret 'T' must be a mapping, got a string",
    ),
    # -- job basics -----------------------------------------------------------
    Case(
        "job-name",
        HEAD + "jobs:\n  -x: {script: x}\n",
        4,
        3,
        "jobs.-x",
        "job name '-x' is not allowed; names start with a letter or digit and contain only"
        " letters, digits, '_', '.' and '-'",
    ),
    Case(
        "job-name-space",
        HEAD + "jobs:\n  a b: {script: x}\n",
        4,
        3,
        "jobs.a b",
        "job name 'a b' is not allowed; names start with a letter or digit and contain only"
        " letters, digits, '_', '.' and '-'",
    ),
    Case(
        "job-string",
        HEAD + "jobs:\n  build: make\n",
        4,
        10,
        "jobs.build",
        "job 'build' must be a mapping, got a string",
    ),
    Case(
        "job-unknown-key",
        HEAD + "jobs:\n  build:\n    scirpt: [make]\n",
        5,
        5,
        "jobs.build.scirpt",
        "unknown key 'scirpt' in job 'build'; did you mean 'script'?",
    ),
    Case(
        "job-no-image",
        "version: 1\njobs:\n  lint: {script: x, image: i}\n  build:\n    script: x\n",
        4,
        3,
        "jobs.build.image",
        "job 'build' has no 'image' and there is no top-level 'image' default;"
        " add 'image: <name>' to the job or to the top level",
    ),
    Case(
        "job-no-script",
        HEAD + "jobs:\n  build:\n    image: i\n",
        4,
        3,
        "jobs.build.script",
        "job 'build' has no 'script'; add the commands it runs (or 'build' to build an image)",
    ),
    Case(
        "script-empty-list",
        HEAD + "jobs:\n  build:\n    script: []\n",
        5,
        13,
        "jobs.build.script",
        "'script' of job 'build' is empty; add at least one command",
    ),
    Case(
        "script-blank-string",
        HEAD + "jobs:\n  build:\n    script: '  '\n",
        5,
        13,
        "jobs.build.script",
        "'script' of job 'build' is empty; add at least one command",
    ),
    Case(
        "script-mapping",
        HEAD + "jobs:\n  build:\n    script: {make: x}\n",
        5,
        13,
        "jobs.build.script",
        "'script' of job 'build' must be a list of strings or a string, got a mapping",
    ),
    Case(
        "script-item-colon",
        HEAD + "jobs:\n  build:\n    script:\n      - make\n      - echo a: b\n",
        7,
        9,
        "jobs.build.script[1]",
        "an item of 'script' of job 'build' was read as a mapping, not a command, because of"
        " the ': ' in it; quote the whole line: - 'echo a: b'",
    ),
    Case(
        "script-item-colon-flow",
        HEAD + "jobs:\n  build: {script: [echo it's: here]}\n",
        4,
        20,
        "jobs.build.script[0]",
        "an item of 'script' of job 'build' was read as a mapping, not a command, because of"
        " the ': ' in it; quote the whole line: - \"echo it's: here\"",
    ),
    Case(
        "script-item-number",
        HEAD + "jobs:\n  build:\n    script: [make, 42]\n",
        5,
        20,
        "jobs.build.script[1]",
        "an item of 'script' of job 'build' must be a string, got a number; quote it: - '42'",
    ),
    Case(
        "script-item-null",
        HEAD + "jobs:\n  build:\n    script:\n      - make\n      -\n",
        7,
        8,
        "jobs.build.script[1]",
        "an item of 'script' of job 'build' is empty (null); remove it or write a command",
    ),
    Case(
        "script-nested-too-deep",
        HEAD + "jobs:\n  build:\n    script: " + "[" * 11 + "x" + "]" * 11 + "\n",
        5,
        23,
        "jobs.build.script[0][0][0][0][0][0][0][0][0][0]",
        "'script' of job 'build' nests lists more than 10 levels deep",
    ),
    Case(
        "dot-key-inside-job",
        HEAD + "jobs:\n  build:\n    script: x\n    .note: y\n",
        6,
        5,
        "jobs.build..note",
        "unknown key '.note' in job 'build'; valid keys are 'image', 'stage', 'script',"
        " 'after_script', 'variables', 'needs', 'artifacts', 'cache', 'timeout', 'retry',"
        " 'allow_failure', 'when', 'secrets', 'build', 'services', 'limits'",
    ),
    Case(
        "after-script-number",
        HEAD + "jobs:\n  build:\n    script: x\n    after_script: 3\n",
        6,
        19,
        "jobs.build.after_script",
        "'after_script' of job 'build' must be a list of strings or a string, got a number",
    ),
    Case(
        "job-variable-null",
        HEAD + "jobs:\n  build:\n    script: x\n    variables: {K: null}\n",
        6,
        20,
        "jobs.build.variables.K",
        "variable 'K' must be a string, number or boolean, got nothing (null);"
        " write '' for an empty value",
    ),
    # -- stages ---------------------------------------------------------------
    Case(
        "stage-without-stages",
        HEAD + "jobs:\n  build:\n    script: x\n    stage: build\n",
        6,
        12,
        "jobs.build.stage",
        "'stage' of job 'build' needs a top-level 'stages' list naming the stages in order",
    ),
    Case(
        "stage-unknown",
        HEAD + "stages: [build, test]\njobs:\n  unit:\n    script: x\n    stage: tset\n",
        7,
        12,
        "jobs.unit.stage",
        "'stage' of job 'unit' is 'tset', which is not in 'stages'; did you mean 'test'?",
    ),
    Case(
        "need-later-stage",
        HEAD + "stages: [build, test]\njobs:\n  compile:\n    script: x\n    needs: [unit]\n"
        "  unit: {script: x, stage: test}\n",
        7,
        13,
        "jobs.compile.needs[0]",
        "job 'compile' (stage 'build') needs 'unit' of the later stage 'test'; a job can only"
        " need jobs of its own or earlier stages",
    ),
    # -- needs ----------------------------------------------------------------
    Case(
        "needs-string",
        HEAD + "jobs:\n  a: {script: x}\n  b: {script: x, needs: a}\n",
        5,
        25,
        "jobs.b.needs",
        "'needs' of job 'b' must be a list, got a string",
    ),
    Case(
        "needs-item-number",
        HEAD + "jobs:\n  a: {script: x}\n  b: {script: x, needs: [1]}\n",
        5,
        26,
        "jobs.b.needs[0]",
        "a 'needs' entry of job 'b' must be a job name or a mapping"
        " {job: <name>, artifacts: <boolean>}, got a number",
    ),
    Case(
        "needs-unknown-key",
        HEAD + "jobs:\n  a: {script: x}\n  b:\n    script: x\n    needs:\n"
        "      - job: a\n        artifact: false\n",
        9,
        9,
        "jobs.b.needs[0].artifact",
        "unknown key 'artifact' in a 'needs' entry of job 'b'; did you mean 'artifacts'?",
    ),
    Case(
        "needs-no-job",
        HEAD + "jobs:\n  a: {script: x}\n  b:\n    script: x\n    needs:\n"
        "      - artifacts: false\n",
        8,
        9,
        "jobs.b.needs[0].job",
        "a 'needs' entry of job 'b' has no 'job'",
    ),
    Case(
        "needs-artifacts-string",
        HEAD + "jobs:\n  a: {script: x}\n  b:\n    script: x\n    needs:\n"
        "      - {job: a, artifacts: 'false'}\n",
        8,
        29,
        "jobs.b.needs[0].artifacts",
        "'artifacts' of a 'needs' entry of job 'b' must be a boolean (true or false),"
        " got a string (write it without quotes)",
    ),
    Case(
        "needs-duplicate",
        HEAD + "jobs:\n  a: {script: x}\n  b:\n    script: x\n    needs:\n"
        "      - a\n      - {job: a}\n",
        9,
        9,
        "jobs.b.needs[1]",
        "job 'b' needs 'a' twice (first at line 8)",
    ),
    Case(
        "needs-self",
        HEAD + "jobs:\n  a: {script: x}\n  b: {script: x, needs: [a, b]}\n",
        5,
        29,
        "jobs.b.needs[1]",
        "job 'b' needs itself",
    ),
    Case(
        "needs-unknown-job",
        HEAD + "jobs:\n  build: {script: x}\n  test:\n    script: x\n    needs: [biuld]\n",
        7,
        13,
        "jobs.test.needs[0]",
        "job 'test' needs 'biuld', which is not a job in this pipeline; did you mean 'build'?",
    ),
    Case(
        "needs-cycle",
        HEAD + "jobs:\n  a: {script: x, needs: [c]}\n  b: {script: x, needs: [a]}\n"
        "  c: {script: x, needs: [b]}\n",
        4,
        26,
        "jobs.a.needs[0]",
        "jobs need each other in a cycle, so none of them could ever start: a -> c -> b -> a"
        " (each needs the next); remove one of these needs",
    ),
    Case(
        "needs-cycle-through-final-job",
        HEAD
        + "jobs:\n  build: {script: x, needs: [notify]}\n  notify: {script: x, when: always}\n",
        4,
        30,
        "jobs.build.needs[0]",
        "jobs need each other in a cycle, so none of them could ever start:"
        " build -> notify -> build (each needs the next); remove one of these needs",
    ),
    # -- artifacts ------------------------------------------------------------
    Case(
        "artifacts-absolute",
        HEAD + "jobs:\n  a: {script: x, artifacts: [/etc/passwd]}\n",
        4,
        30,
        "jobs.a.artifacts[0]",
        "a path in 'artifacts' of job 'a' must be relative to the project directory,"
        " got '/etc/passwd'",
    ),
    Case(
        "artifacts-dotdot",
        HEAD + "jobs:\n  a: {script: x, artifacts: [dist/../../x]}\n",
        4,
        30,
        "jobs.a.artifacts[0]",
        "a path in 'artifacts' of job 'a' must not contain a '..' component (it would leave"
        " the project directory), got 'dist/../../x'",
    ),
    Case(
        "artifacts-empty-path",
        HEAD + "jobs:\n  a: {script: x, artifacts: ['']}\n",
        4,
        30,
        "jobs.a.artifacts[0]",
        "a path in 'artifacts' of job 'a' must not be empty",
    ),
    Case(
        "artifacts-nul",
        HEAD + 'jobs:\n  a: {script: x, artifacts: ["a\\0b"]}\n',
        4,
        30,
        "jobs.a.artifacts[0]",
        "a path in 'artifacts' of job 'a' contains a NUL character",
    ),
    Case(
        "artifacts-empty-list",
        HEAD + "jobs:\n  a: {script: x, artifacts: []}\n",
        4,
        29,
        "jobs.a.artifacts",
        "'artifacts' of job 'a' is empty; list at least one path",
    ),
    Case(
        "artifacts-number",
        HEAD + "jobs:\n  a: {script: x, artifacts: 1}\n",
        4,
        29,
        "jobs.a.artifacts",
        "'artifacts' of job 'a' (or a list of paths) must be a mapping, got a number",
    ),
    Case(
        "artifacts-no-paths",
        HEAD + "jobs:\n  a:\n    script: x\n    artifacts: {when: always}\n",
        6,
        16,
        "jobs.a.artifacts.paths",
        "'artifacts' of job 'a' has no 'paths'",
    ),
    Case(
        "artifacts-unknown-key",
        HEAD + "jobs:\n  a:\n    script: x\n    artifacts:\n      path: [x]\n",
        7,
        7,
        "jobs.a.artifacts.path",
        "unknown key 'path' in 'artifacts' of job 'a'; did you mean 'paths'?",
    ),
    Case(
        "artifacts-when",
        HEAD + "jobs:\n  a:\n    script: x\n    artifacts: {paths: [x], when: on_succes}\n",
        6,
        35,
        "jobs.a.artifacts.when",
        "'when' of 'artifacts' of job 'a' cannot be 'on_succes'; did you mean 'on_success'?",
    ),
    # -- cache ----------------------------------------------------------------
    Case(
        "cache-key-slash",
        HEAD + "jobs:\n  a:\n    script: x\n    cache: {key: a/b, paths: [x]}\n",
        6,
        18,
        "jobs.a.cache.key",
        "cache key 'a/b' is not allowed; use letters, digits, '.', '_' and '-'"
        " (and not '.' or '..')",
    ),
    Case(
        "cache-key-dotdot",
        HEAD + "jobs:\n  a:\n    script: x\n    cache: {key: '..', paths: [x]}\n",
        6,
        18,
        "jobs.a.cache.key",
        "cache key '..' is not allowed; use letters, digits, '.', '_' and '-'"
        " (and not '.' or '..')",
    ),
    Case(
        "cache-item-string",
        HEAD + "jobs:\n  a:\n    script: x\n    cache: [x]\n",
        6,
        13,
        "jobs.a.cache[0]",
        "an item of 'cache' of job 'a' must be a mapping, got a string",
    ),
    Case(
        "cache-unknown-key",
        HEAD + "jobs:\n  a:\n    script: x\n    cache: {kye: k, paths: [x]}\n",
        6,
        13,
        "jobs.a.cache.kye",
        "unknown key 'kye' in 'cache' of job 'a'; did you mean 'key'?",
    ),
    Case(
        "cache-duplicate-key",
        HEAD + "jobs:\n  a:\n    script: x\n    cache:\n      - {key: k, paths: [x]}\n"
        "      - {key: k, paths: [y]}\n",
        8,
        9,
        "jobs.a.cache[1]",
        "'cache' of job 'a' uses cache key 'k' more than once",
    ),
    Case(
        "cache-no-paths",
        HEAD + "jobs:\n  a:\n    script: x\n    cache: {key: k}\n",
        6,
        12,
        "jobs.a.cache.paths",
        "'cache' of job 'a' has no 'paths'",
    ),
    Case(
        "cache-path-absolute",
        HEAD + "jobs:\n  a:\n    script: x\n    cache: {paths: [/root]}\n",
        6,
        21,
        "jobs.a.cache.paths[0]",
        "a path in 'paths' of 'cache' of job 'a' must be relative to the project directory,"
        " got '/root'",
    ),
    Case(
        "cache-number",
        HEAD + "jobs:\n  a:\n    script: x\n    cache: 3\n",
        6,
        12,
        "jobs.a.cache",
        "'cache' of job 'a' (a mapping or a list of mappings) must be a list, got a number",
    ),
    # -- timeout, retry, allow_failure, when ----------------------------------
    Case(
        "timeout-unit",
        HEAD + "jobs:\n  a:\n    script: x\n    timeout: 10 parsecs\n",
        6,
        14,
        "jobs.a.timeout",
        "'timeout' of job 'a': unknown unit 'parsecs' in duration '10 parsecs';"
        " use s/sec/seconds, m/min/minutes, h/hr/hours, d/days or w/weeks",
    ),
    Case(
        "timeout-zero",
        HEAD + "jobs:\n  a:\n    script: x\n    timeout: 0s\n",
        6,
        14,
        "jobs.a.timeout",
        "'timeout' of job 'a' must be longer than zero",
    ),
    Case(
        "timeout-list",
        HEAD + "jobs:\n  a:\n    script: x\n    timeout: [10m]\n",
        6,
        14,
        "jobs.a.timeout",
        "'timeout' of job 'a' must be a duration like '10m' or a number of seconds, got a list",
    ),
    Case(
        "timeout-bool",
        HEAD + "jobs:\n  a:\n    script: x\n    timeout: true\n",
        6,
        14,
        "jobs.a.timeout",
        "'timeout' of job 'a' must be a duration like '10m' or a number of seconds, got a boolean",
    ),
    Case(
        "retry-too-many",
        HEAD + "jobs:\n  a:\n    script: x\n    retry: 11\n",
        6,
        12,
        "jobs.a.retry",
        "'retry' of job 'a' must be from 0 to 10, got 11",
    ),
    Case(
        "retry-negative",
        HEAD + "jobs:\n  a:\n    script: x\n    retry: -1\n",
        6,
        12,
        "jobs.a.retry",
        "'retry' of job 'a' must be from 0 to 10, got -1",
    ),
    Case(
        "retry-string",
        HEAD + "jobs:\n  a:\n    script: x\n    retry: '2'\n",
        6,
        12,
        "jobs.a.retry",
        "'retry' of job 'a' must be a whole number from 0 to 10 (or a mapping with 'max'),"
        " got a string",
    ),
    Case(
        "retry-max-float",
        HEAD + "jobs:\n  a:\n    script: x\n    retry: {max: 1.5}\n",
        6,
        18,
        "jobs.a.retry.max",
        "'max' of 'retry' of job 'a' must be a whole number from 0 to 10 (or a mapping with"
        " 'max'), got a number",
    ),
    Case(
        "retry-unknown-key",
        HEAD + "jobs:\n  a:\n    script: x\n    retry: {max: 1, when: always}\n",
        6,
        21,
        "jobs.a.retry.when",
        "unknown key 'when' in 'retry' of job 'a'; valid keys are 'max'",
    ),
    Case(
        "retry-no-max",
        HEAD + "jobs:\n  a:\n    script: x\n    retry: {}\n",
        6,
        12,
        "jobs.a.retry.max",
        "'retry' of job 'a' has no 'max'",
    ),
    Case(
        "allow-failure-string",
        HEAD + "jobs:\n  a:\n    script: x\n    allow_failure: 'true'\n",
        6,
        20,
        "jobs.a.allow_failure",
        "'allow_failure' of job 'a' must be a boolean (true or false), got a string"
        " (write it without quotes)",
    ),
    Case(
        "allow-failure-mapping",
        HEAD + "jobs:\n  a:\n    script: x\n    allow_failure: {exit_codes: 1}\n",
        6,
        20,
        "jobs.a.allow_failure",
        "'allow_failure' of job 'a' must be a boolean (true or false), got a mapping",
    ),
    Case(
        "when-manual",
        HEAD + "jobs:\n  a:\n    script: x\n    when: manual\n",
        6,
        11,
        "jobs.a.when",
        "'when' of job 'a' cannot be 'manual'; use on_success, on_failure, always",
    ),
    Case(
        "when-typo",
        HEAD + "jobs:\n  a:\n    script: x\n    when: alway\n",
        6,
        11,
        "jobs.a.when",
        "'when' of job 'a' cannot be 'alway'; did you mean 'always'?",
    ),
    # -- job secrets ----------------------------------------------------------
    Case(
        "job-secret-undefined",
        HEAD + "secrets: {API_TOKEN: {env: T}}\njobs:\n  a:\n    script: x\n"
        "    secrets: [API_TOKN]\n",
        7,
        15,
        "jobs.a.secrets[0]",
        "'secrets' of job 'a' uses secret 'API_TOKN', which is not defined;"
        " did you mean 'API_TOKEN'?",
    ),
    Case(
        "job-secret-none-defined",
        HEAD + "jobs:\n  a:\n    script: x\n    secrets: [T]\n",
        6,
        15,
        "jobs.a.secrets[0]",
        "'secrets' of job 'a' uses secret 'T', which is not defined;"
        " define it under the top-level 'secrets'",
    ),
    Case(
        "job-secret-duplicate",
        HEAD + "secrets: {T: {env: T}}\njobs:\n  a:\n    script: x\n    secrets: [T, T]\n",
        7,
        18,
        "jobs.a.secrets[1]",
        "secret 'T' is listed twice in 'secrets' of job 'a'",
    ),
    Case(
        "job-secret-string",
        HEAD + "secrets: {T: {env: T}}\njobs:\n  a:\n    script: x\n    secrets: T\n",
        7,
        14,
        "jobs.a.secrets",
        "'secrets' of job 'a' must be a list, got a string",
    ),
    Case(
        "job-variable-shadows-secret",
        HEAD + "secrets: {T: {env: T}}\njobs:\n  a:\n    script: x\n    secrets: [T]\n"
        "    variables:\n      T: plain\n",
        9,
        7,
        "jobs.a.variables.T",
        "variable 'T' has the same name as secret 'T' that job 'a' uses; the two would clash"
        " in its environment, so rename one",
    ),
    Case(
        "top-variable-shadows-secret",
        HEAD + "variables: {T: plain}\nsecrets: {T: {env: T}}\njobs:\n  a:\n    script: x\n"
        "    secrets: [T]\n",
        3,
        13,
        "variables.T",
        "top-level variable 'T' has the same name as secret 'T' that job 'a' uses; the two"
        " would clash in its environment, so rename one",
    ),
    # -- YAML level -----------------------------------------------------------
    Case(
        "duplicate-job",
        HEAD + "jobs:\n  a: {script: x}\n  a: {script: y}\n",
        5,
        3,
        "jobs.a",
        "duplicate key 'a' (first at line 4); YAML would silently keep only the last one,"
        " so remove or rename one of them",
    ),
    Case(
        "yaml-syntax",
        HEAD + "jobs:\n  a:\n    script: [x\n",
        6,
        1,
        None,
        "YAML syntax error: expected ',' or ']', but got '<stream end>'"
        " (while parsing a flow sequence at line 5, column 13)",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_error_spot_and_message(case: Case, tmp_path: Path) -> None:
    """Each malformed file fails at the exact file, line, column and key with the exact text."""
    path = tmp_path / "pipeline.yml"
    path.write_text(case.yaml)
    with pytest.raises(PipelineError) as info:
        parse_native(path, tmp_path)
    assert info.value.spot == SourceSpot(str(path), case.line, case.column, case.key)
    assert info.value.message == case.message
    where = f"{path}:{case.line}:{case.column}"
    if case.key is not None:
        where += f" (key '{case.key}')"
    assert str(info.value) == f"{where}: {case.message}"


def test_messages_name_the_path_as_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The file in messages is the path exactly as the caller gave it."""
    (tmp_path / "p.yml").write_text(textwrap.dedent(HEAD + "jobs:\n  a:\n    scirpt: x\n"))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(PipelineError) as info:
        parse_native(Path("p.yml"), Path())
    assert str(info.value) == (
        "p.yml:5:5 (key 'jobs.a.scirpt'): unknown key 'scirpt' in job 'a'; did you mean 'script'?"
    )
