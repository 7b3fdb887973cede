"""``make bench``: every benchmark, one after the other."""

from benchmarks import emulator_throughput, layer_footprint, pipeline_load

layer_footprint.main()
emulator_throughput.main()
pipeline_load.main()
