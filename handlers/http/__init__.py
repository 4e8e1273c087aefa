"""The engine's own HTTP endpoints: the CRM API, and whatever else the wiring mounts on the same server."""
