"""When each stage runs: the rules the Celery tasks and ``run_pipeline`` both follow."""
