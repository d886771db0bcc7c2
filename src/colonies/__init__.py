"""colonies: a Python server fleet for ColonyOS-style meta-orchestration."""

__version__ = "0.1.0"
