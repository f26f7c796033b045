"""Fake ``cuvs.common.Resources``."""


class Resources:
    """A CUDA stream and handle, in cuVS."""
