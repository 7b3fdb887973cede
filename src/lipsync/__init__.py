"""The lip-sync pipeline on one machine: the Volcengine emulator, the local AWS runtime, the CLI."""
