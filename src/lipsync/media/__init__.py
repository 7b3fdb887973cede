"""Media with PyAV, shared by the command line, the emulator, the tests and the benchmarks: a file
probed as the service would, sample media made on the spot, and a folder served over HTTP."""
