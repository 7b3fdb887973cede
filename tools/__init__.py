"""Release tools, run from the repository and never shipped in the package: ``make smoke``
(``python -m tools.smoke``) deploys the stack to a real account, runs a job per entry point and
removes it."""
