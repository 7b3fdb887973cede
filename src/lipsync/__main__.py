from lipsync.cli import entry

entry()
