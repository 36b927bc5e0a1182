"""samples/node.toml stays true: it parses, and documents every setting the parser reads."""

from __future__ import annotations

import re
from pathlib import Path

from bai.config import parse_config

SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "node.toml"


def test_sample_config_parses_to_the_defaults(tmp_path: Path) -> None:
    cfg = parse_config(SAMPLE.read_text(), source=str(SAMPLE), data_dir=tmp_path)
    assert (cfg.host, cfg.port, cfg.sftp_port) == ("127.0.0.1", 8090, 2022)
    assert cfg.auth.throttle_failures == 10 and cfg.auth.max_clock_skew == 900
    assert cfg.volumes["local"].path == tmp_path / "volumes/local"


def test_sample_documents_every_setting() -> None:
    source = (Path(__file__).resolve().parents[2] / "bai" / "config.py").read_text()
    keys = set(re.findall(r'\.get\("(\w+)"', source))
    text = SAMPLE.read_text()
    undocumented = sorted(
        k
        for k in keys
        if not re.search(rf"^#?\s*{k}\s*=", text, re.M) and f"[volume.local.{k}]" not in text
    )
    assert undocumented == []
