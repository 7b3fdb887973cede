"""The workflow steps, one module per state of the state machine (``infra/workflow.py``), and the
reconciler that has the last word on every execution. Imports ``access`` and ``domain``."""
