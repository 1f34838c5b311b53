"""Keep the local digest key's private half across restarts of `make run`.

moto's recorder replays the calls that created the key, and a replayed `CreateKey` draws new
key material: every digest signed before the restart would then fail its signature. The
local stack runs moto in this process, so it saves the key's material under .local/ once and
puts it back into the emulator after each start. Local only; in AWS the key never leaves KMS.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

KEY_FILE = "audit-digest-key.pem"


def _moto_key(key_id: str) -> Any:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.kms.models import kms_backends

    for region_backend in kms_backends[DEFAULT_ACCOUNT_ID].values():
        key = region_backend.keys.get(key_id)
        if key is not None:
            return key
    raise LookupError(f"digest key {key_id} not in the emulator")


def pin_digest_key(key_id: str, state_dir: Path) -> None:
    """Give the emulator's key the material saved under `state_dir` (saved the first time)."""
    from cryptography.hazmat.primitives import serialization

    inner = _moto_key(key_id).private_key  # moto's RSA wrapper; its own key is `.private_key`
    path = state_dir / KEY_FILE
    if path.exists():
        loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
        inner.private_key = loaded
        return
    pem = inner.private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.write_bytes(pem)
    path.chmod(0o600)
