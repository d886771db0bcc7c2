"""High availability: the LISTEN/NOTIFY event bus (and, later, leader election and ticks)."""
