"""Provides virtual folders: their records, names, lifecycle and files."""
