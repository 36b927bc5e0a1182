"""Provides the Textual terminal UI (`bai tui`); it talks to a node through `bai.client`."""
