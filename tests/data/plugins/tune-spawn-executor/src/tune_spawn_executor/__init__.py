"""tune-spawn-executor: one fresh process per trial, no shared disk."""
