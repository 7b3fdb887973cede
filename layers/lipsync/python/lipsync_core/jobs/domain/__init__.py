"""Shared definitions: what the rest of the job domain is made of. Imports nothing else of ``jobs``."""
