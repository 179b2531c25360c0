"""Job output: masking, the live console, per-job log files and the summary."""
