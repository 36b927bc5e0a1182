"""Provides the agent: compute sessions in bubblewrap sandboxes and their folder mounts."""
