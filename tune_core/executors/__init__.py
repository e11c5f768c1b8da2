"""Executors run trials somewhere: ``local`` (worker processes on this machine) is built in."""
