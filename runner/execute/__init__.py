"""Running a pipeline: the DAG scheduler, one job at a time, and their results."""
