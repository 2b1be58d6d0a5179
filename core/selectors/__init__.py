"""Read-only questions about the pipeline's state, for the workflow, the commands and the admin."""
