"""Provides compute sessions: records and states, Backend.AI's mount specs, mount planning
through `bai.access`, dotfiles, and the `SessionRunner` protocol the agent implements."""
