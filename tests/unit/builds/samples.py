"""Containerfiles shared by the build unit tests."""

MULTI = (
    "FROM localhost/busybox:latest AS one\n"
    "RUN echo ok\n"
    "\n"
    "FROM one\n"
    "RUN echo a && \\\n"
    "    false\n"
    "RUN echo never\n"
)
"""Two stages; the real buildah output in test_diagnose fails at its line 5."""
