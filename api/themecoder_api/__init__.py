"""The themecoder HTTP service: a thin FastAPI layer over :mod:`themecoder.services`."""

from themecoder_api.app import create_app

__all__ = ["create_app"]
