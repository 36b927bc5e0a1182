"""Provides accounts: domains, users, projects, keypairs and resource policies."""

from bai.accounts.models import Keypair, KeypairPolicy, Project, ScopePolicy, User
from bai.accounts.service import AccountService, Bootstrap

__all__ = [
    "AccountService",
    "Bootstrap",
    "Keypair",
    "KeypairPolicy",
    "Project",
    "ScopePolicy",
    "User",
]
