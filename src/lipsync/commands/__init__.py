"""The ``lipsync`` commands, one module per command or small family of commands; each registers its
own parser (``register(subcommands)``) and runs its command. Heavy imports (the client's requests, the
local runtime's moto) wait inside the commands, so that ``lipsync --help`` stays quick."""

from __future__ import annotations

from types import ModuleType

from . import doctor, emulator, events, jobs, run, up, webhooks

# In the order `lipsync --help` lists them.
COMMANDS: tuple[ModuleType, ...] = (run, jobs, up, events, webhooks, emulator, doctor)
