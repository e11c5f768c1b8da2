"""Runnable examples for tune-core; a package so ``tune-core run`` can name ``examples.quickstart:train_func``."""
