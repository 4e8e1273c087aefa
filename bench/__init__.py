"""Benchmarks against the limits that bind the engine (`make bench`; not part of `make test`)."""
