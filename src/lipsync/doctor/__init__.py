"""``lipsync doctor``: read-only checks of an AWS account and region before a deploy."""
