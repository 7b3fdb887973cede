"""CDK constructs, one per concern, composed by ``infra.stack``."""
