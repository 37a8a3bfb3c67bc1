"""`python -m fingereval.cli`: the same command line as `fingereval`."""
from fingereval.cli import main

main()
