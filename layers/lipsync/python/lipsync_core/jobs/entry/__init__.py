"""The entry side: requests (API, S3 manifests, bus events, batches), queries, cancel, upload URLs and
webhooks. Imports ``access`` and ``domain``."""
