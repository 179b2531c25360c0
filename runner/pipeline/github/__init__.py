"""The GitHub Actions dialect: workflow files (``.github/workflows/*.yml``, and Forgejo's and
Gitea's) translated into the pipeline model, with the ``${{ }}`` expression language and the
per-step session the executor drives (``runner.pipeline.steps``)."""
