"""GitLab CI dialect helpers: its variable-expression language and its variable expansion."""
