"""Data access: the job table and the flow-control table (the only code that writes their expressions),
where results go in S3, presigned inputs, result URLs, and the bus. Imports only ``domain``."""
