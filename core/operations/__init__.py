"""What operators (through the admin or a command) and the workflow may do to batches and rows.

Operations decide whether an action applies and carry it out; the admin, the commands and the tasks
only call them and present the result.
"""
