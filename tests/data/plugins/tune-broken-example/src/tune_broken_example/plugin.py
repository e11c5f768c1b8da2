"""A plugin module that cannot be imported: it needs a package that is not installed."""

import tune_core_missing_dependency  # noqa: F401  (the point: this import fails)
