"""The seed's import path for object pinning: ``from tune_core.util import pin_in_object_store``."""

from tune_core.pinning import get_pinned_object, pin_in_object_store

__all__ = ["get_pinned_object", "pin_in_object_store"]
