"""Shared code for the lip-sync pipeline: the Volcengine client and the job models.

Shipped to Lambda as the signing layer (``layers/lipsync``); importable locally from the same path.
"""
