"""The showcase adapter: one tool per feature of the bridge.

Run it with ``--adapter snakepit_bridge.adapters.showcase``.
"""

from .adapter import ShowcaseAdapter

__all__ = ["ShowcaseAdapter"]
