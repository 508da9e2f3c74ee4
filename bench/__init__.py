"""Lockstep's benchmarks, run by `make bench` (`python -m bench`).

They live apart from the tests: they measure, in one run per backend pair,
the cost of the building blocks (the floor), of a move and a poll over HTTP,
how that cost grows with a game's history, and how the server holds up
under many simulated phones. Each figure is checked against a target and
printed as PASS or MISS; nothing here fails a test.
"""
