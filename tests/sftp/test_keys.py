"""SSH keypairs per access key (Backend.AI's `/auth/ssh-keypair` routes and shapes), over
HTTP in-process, and `bai ssh-keypair` against a real node."""

from __future__ import annotations

import stat
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from bai.errors import Conflict, InvalidRequest, NotFound, ServiceUnavailable
from tests.conftest import InProcessNode
from tests.harness import run_bai
from tests.sftp.conftest import SftpWorld


def openssh_pair(private: ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey) -> tuple[str, str]:
    pub = private.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    priv = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )
    return pub.decode() + " me@laptop", priv.decode()


def fingerprint_by_ssh_keygen(public_line: str, where: Path) -> str:
    where.write_text(public_line + "\n")
    res = subprocess.run(["ssh-keygen", "-lf", str(where)], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    return res.stdout.split()[1]


async def test_generate_then_download_once(node: InProcessNode, tmp_path: Path) -> None:
    alice = await node.new_user("keys-alice@example.com")
    # Backend.AI's shape: no keypair yet is a null public key.
    assert await alice.get("/auth/ssh-keypair") == {
        "ssh_public_key": None,
        "fingerprint": None,
        "origin": None,
        "private_key_downloadable": False,
        "created_at": None,
    }
    made = await alice.request("PATCH", "/auth/ssh-keypair")
    assert made["ssh_public_key"].startswith("ssh-ed25519 ")
    assert made["ssh_private_key"].startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
    assert made["fingerprint"] == fingerprint_by_ssh_keygen(made["ssh_public_key"], tmp_path / "k")
    info = await alice.ssh_keypair.get()
    assert (info.origin, info.private_key_downloadable) == ("generated", True)
    key = await alice.ssh_keypair.download()
    assert key.ssh_private_key == made["ssh_private_key"]
    # Once: the node keeps no copy after the download.
    assert not (await alice.ssh_keypair.get()).private_key_downloadable
    with pytest.raises(NotFound, match="downloaded already"):
        await alice.ssh_keypair.download()
    again = await alice.ssh_keypair.generate()
    assert again.fingerprint != made["fingerprint"]


async def test_upload_own_key(node: InProcessNode, tmp_path: Path) -> None:
    bob = await node.new_user("keys-bob@example.com")
    carol = await node.new_user("keys-carol@example.com")
    public, private = openssh_pair(ed25519.Ed25519PrivateKey.generate())
    res = await bob.post("/auth/ssh-keypair", json={"pubkey": public, "privkey": private})
    # The private key given along is checked, never kept nor echoed.
    assert res["ssh_private_key"] == "" and res["ssh_public_key"] == public
    assert res["fingerprint"] == fingerprint_by_ssh_keygen(public, tmp_path / "k")
    info = await bob.ssh_keypair.get()
    assert (info.origin, info.private_key_downloadable) == ("uploaded", False)
    with pytest.raises(NotFound, match="never keeps an uploaded private key"):
        await bob.ssh_keypair.download()
    # One key logs in as one access key only.
    with pytest.raises(Conflict, match="already registered for another access key"):
        await carol.ssh_keypair.upload(public)
    other_public, _ = openssh_pair(ed25519.Ed25519PrivateKey.generate())
    with pytest.raises(InvalidRequest, match="does not belong to the public key"):
        await carol.ssh_keypair.upload(other_public, private)
    weak, _ = openssh_pair(rsa.generate_private_key(public_exponent=65537, key_size=1024))
    with pytest.raises(InvalidRequest, match="1024 bits"):
        await carol.ssh_keypair.upload(weak)
    for junk in ("", "ssh-ed25519", "ssh-ed25519 !!!notbase64", "hello world", "a\nb"):
        with pytest.raises(InvalidRequest):
            await carol.ssh_keypair.upload(junk)
    assert (await carol.ssh_keypair.get()).ssh_public_key is None


async def test_sessions_need_the_sftp_service(node: InProcessNode) -> None:
    dave = await node.new_user("keys-dave@example.com")
    await dave.folders.create("d1")
    # This node runs no SFTP transport: a session would be a promise nobody keeps.
    with pytest.raises(ServiceUnavailable, match="SFTP service is not running"):
        await dave.sftp.start(["d1"])
    res = await dave.sftp.list()
    assert res.sessions == [] and res.connection is None


@pytest.mark.node
def test_cli_ssh_keypair(world: SftpWorld, tmp_path: Path) -> None:
    user = world.user()
    env = user.env
    res = run_bai("ssh-keypair", "show", env=env)
    assert res.returncode == 0 and "No SSH keypair yet" in res.stdout
    key = tmp_path / "keys" / "id_bai"
    res = run_bai("ssh-keypair", "generate", "-o", str(key), env=env)
    assert res.returncode == 0, res.stderr
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert key.read_text().startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
    res = run_bai("ssh-keypair", "download", "-o", str(tmp_path / "again"), env=env)
    assert res.returncode == 66 and "downloaded already" in res.stderr
    assert not (tmp_path / "again").exists()
    res = run_bai("ssh-keypair", "show", "-o", "json", env=env)
    assert '"origin": "generated"' in res.stdout
    # Your own key, checked against its private half before anything is sent.
    own = tmp_path / "own"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(own)], check=True)
    other = tmp_path / "other"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    res = run_bai("ssh-keypair", "upload", f"{own}.pub", "--private-key", str(other), env=env)
    assert res.returncode == 74 and "does not belong" in res.stderr
    res = run_bai("ssh-keypair", "upload", f"{own}.pub", "--private-key", str(own), env=env)
    assert res.returncode == 0, res.stderr
    fp = subprocess.run(["ssh-keygen", "-lf", f"{own}.pub"], capture_output=True, text=True)
    assert fp.stdout.split()[1] in res.stdout
    # An existing file is not replaced without --force.
    res = run_bai("ssh-keypair", "generate", "-o", str(key), env=env)
    assert res.returncode == 73 and "--force" in res.stderr
