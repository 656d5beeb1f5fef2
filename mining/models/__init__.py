"""Mining's data, one module per feature: the network (difficulty epochs)."""

from mining.models.network import NetworkEpoch

__all__ = ["NetworkEpoch"]
