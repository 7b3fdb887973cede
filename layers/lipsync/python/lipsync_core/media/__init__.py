"""Media as the pipeline sees it before paying: what an input holds (``probe``, from its headers, read
in ranges), whether the service can take it and what it would dislike (``rules``, the recommended
ranges per mode), and conversions into those ranges (``normalise``). PyAV does the reading and the
encoding; it ships to Lambda in a layer of its own, so only the functions that need it load it.

Nothing here knows AWS: the ranged readers' sources (S3, https) are the job access tier's."""
