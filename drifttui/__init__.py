"""drifttui: live Kubernetes drift against ConfigHub, in the terminal and headless."""

__version__ = "0.1.0"
