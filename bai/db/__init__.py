"""Provides the database: tables, engine set-up and migrations."""
