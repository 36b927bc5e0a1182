"""Provides the HTTP controllers, one module per area of the API."""
