"""Provides the `bai` command line: the official CLI's verbs over `bai.client`."""
