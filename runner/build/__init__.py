"""Rootless image builds: Containerfiles, registry access, tenant stores, job outputs."""
