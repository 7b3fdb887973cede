"""The job domain, in tiers that mirror the pipeline (``docs/architecture.md``, *The job domain*):

- ``domain``: shared definitions (the contract with the state machine, models, records, errors,
  settings, limits, event details); imports nothing else of ``jobs``.
- ``access``: data access (the job table, the flow-control table, S3 outputs and presigning, result
  URLs, the bus); imports only ``domain``.
- ``steps``: one module per state of the state machine, and the reconciler.
- ``entry``: how jobs are asked for and looked at (requests, deliveries, batches, queries, cancel,
  uploads, webhooks).
- ``clients``: each Lambda environment's clients and settings, for the handlers in ``functions/``.

``steps`` and ``entry`` import ``access`` and ``domain``, never each other.
"""
