"""Provides the SFTP transport: an asyncssh server attached to a running node, serving the
folders of SFTP sessions (`bai vfolder sftp`) to the SSH keys of their callers."""

from bai.server.sftp.server import SftpService

__all__ = ["SftpService"]
