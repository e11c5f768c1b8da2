pytest_plugins = ["tune_core.testing"]
