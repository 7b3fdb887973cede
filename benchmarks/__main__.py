"""``make bench``: every figure of issue 12's table beside its baseline from the same run, then the
poll cost, the emulator's own figures, bursts against the provider's limits, the drop (the line) and
long voices in segments."""

from __future__ import annotations

import tempfile
from pathlib import Path

from benchmarks import (
    cold_start,
    copy_throughput,
    demo_time,
    emulator_throughput,
    line_drop,
    long_voice,
    pipeline_load,
    poll_cost,
    provider_limits,
    signer_cpu,
)
from benchmarks.report import print_table


def main() -> None:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        rows += cold_start.main(scratch / "cold")
        rows += signer_cpu.main(scratch / "cold" / "opt" / "python", scratch / "cold" / "sdk")
        rows += copy_throughput.main(scratch)
        cold_start.writable_again(scratch)
    rows += pipeline_load.main()
    rows += demo_time.main()
    emulator_throughput.main()
    provider_limits.main()
    line_drop.main()
    long_voice.main()
    poll_rows = poll_cost.main()
    print()
    print_table(rows + poll_rows)


if __name__ == "__main__":
    main()
