"""Provides the node's transports: the Litestar HTTP API and its wiring."""
