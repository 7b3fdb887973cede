"""The job workflow's logic: models, the job store, the poll policy, submission, copying, events.

Handlers in ``functions/`` parse their event, call one function here and shape the answer; all of
this is testable without AWS (moto stands in for it).
"""
