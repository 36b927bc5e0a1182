"""Provides `bai tui`: the Data & Storage page of Backend.AI's web UI in a terminal.

The app talks to a node only through the typed client (`bai.client`); an import contract
keeps it from importing the server or the domain. Screens live in `screens/`, modal dialogs
in `dialogs/`, reusable widgets in `widgets/`.
"""
