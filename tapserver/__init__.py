"""tapserver: a standalone IVOA ObsTAP / ProvTAP server for DL3 gamma-ray archives."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("tapserver")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+source"

__all__ = ["__version__"]
