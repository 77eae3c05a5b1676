"""Use cases composing pipeline, storage and evaluation. No HTTP, no printing."""
