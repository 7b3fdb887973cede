"""Data access: the only code that talks to DynamoDB, S3 and EventBridge for jobs. Imports only ``domain``."""
