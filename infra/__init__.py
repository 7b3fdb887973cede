"""CDK constructs, one per concern, composed by ``pipeline.LipSyncPipeline`` (which the ``LipSync`` stack
wraps). Installed as ``lipsync_infra``; kept light (no CDK import here), so the local runtime can ask
``sources`` where the handlers are without starting the CDK."""
