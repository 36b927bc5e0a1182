"""Provides the HTTP transport: the Litestar app, its controllers, auth and transfer tokens."""
