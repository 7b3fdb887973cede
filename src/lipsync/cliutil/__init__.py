"""What every ``lipsync`` command shares: how it speaks (``output``: stdout, stderr, exit codes), its
arguments and help (``arguments``), which stack it talks to (``target``), the checks made before
anything starts (``preflight``), a job started and followed through the client (``submission``), and
Ctrl-C (``interrupts``)."""
