"""The Fernet key repository: layout, rotation, pruning and reload by other processes."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from onestack.identity.keys import InvalidToken, KeyRepository


def files(repo: KeyRepository) -> list[str]:
    return sorted((p.name for p in repo.path.iterdir()), key=lambda n: (len(n), n))


@pytest.fixture
def repo(tmp_path: Path) -> KeyRepository:
    keys = KeyRepository(tmp_path / "fernet-keys", max_active_keys=3)
    keys.ensure()
    return keys


def test_ensure_creates_staged_and_primary_keys_privately(repo: KeyRepository) -> None:
    assert files(repo) == ["0", "1"]
    assert stat.S_IMODE(repo.path.stat().st_mode) == 0o700
    for name in ("0", "1"):
        assert stat.S_IMODE((repo.path / name).stat().st_mode) == 0o600
        Fernet((repo.path / name).read_bytes())  # each file is a valid key


def test_ensure_is_idempotent(repo: KeyRepository) -> None:
    before = {n: (repo.path / n).read_bytes() for n in files(repo)}
    repo.ensure()
    assert {n: (repo.path / n).read_bytes() for n in files(repo)} == before


def test_primary_encrypts_and_staged_key_decrypts(repo: KeyRepository) -> None:
    token = repo.encrypt(b"hello")
    Fernet((repo.path / "1").read_bytes()).decrypt(token.encode())  # primary = highest index
    staged = Fernet((repo.path / "0").read_bytes()).encrypt(b"from a node that rotated first")
    assert repo.decrypt(staged.decode()) == b"from a node that rotated first"


def test_rotate_promotes_the_staged_key(repo: KeyRepository) -> None:
    staged = (repo.path / "0").read_bytes()
    assert repo.rotate() == 2
    assert (repo.path / "2").read_bytes() == staged
    assert (repo.path / "0").read_bytes() != staged
    assert files(repo) == ["0", "1", "2"]
    Fernet(staged).decrypt(repo.encrypt(b"new").encode())  # new tokens use the promoted key


def test_tokens_survive_rotation_while_their_key_is_active(repo: KeyRepository) -> None:
    token = repo.encrypt(b"payload")
    repo.rotate()  # the key that sealed it is now a secondary key
    assert repo.decrypt(token) == b"payload"
    repo.rotate()  # with max_active_keys=3 it is now pruned
    with pytest.raises(InvalidToken):
        repo.decrypt(token)


@pytest.mark.parametrize("max_keys", [2, 3, 5])
def test_prune_keeps_max_active_keys(tmp_path: Path, max_keys: int) -> None:
    keys = KeyRepository(tmp_path / "k", max_active_keys=max_keys)
    keys.ensure()
    token = keys.encrypt(b"old")
    for _ in range(max_keys + 2):
        keys.rotate()
        assert len(files(keys)) <= max_keys
    assert len(files(keys)) == max_keys
    assert "0" in files(keys)
    with pytest.raises(InvalidToken):
        keys.decrypt(token)


def test_token_lives_through_max_keys_minus_two_rotations(tmp_path: Path) -> None:
    keys = KeyRepository(tmp_path / "k", max_active_keys=5)
    keys.ensure()
    token = keys.encrypt(b"x")
    for _ in range(3):
        keys.rotate()
        assert keys.decrypt(token) == b"x"
    keys.rotate()
    with pytest.raises(InvalidToken):
        keys.decrypt(token)


def test_another_instance_sees_rotation(repo: KeyRepository) -> None:
    # The server holds one instance; `onestack admin rotate-keys` uses another.
    server_side = KeyRepository(repo.path, max_active_keys=3)
    old = server_side.encrypt(b"old")
    repo.rotate()
    new_primary = (repo.path / "2").read_bytes()
    Fernet(new_primary).decrypt(server_side.encrypt(b"new").encode())
    repo.rotate()
    with pytest.raises(InvalidToken):
        server_side.decrypt(old)


def test_too_few_active_keys_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        KeyRepository(tmp_path / "k", max_active_keys=1)


def test_empty_repository_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "k").mkdir()
    with pytest.raises(RuntimeError, match="no keys"):
        KeyRepository(tmp_path / "k").encrypt(b"x")


def test_rotate_creates_a_missing_repository(tmp_path: Path) -> None:
    keys = KeyRepository(tmp_path / "new")
    assert keys.rotate() == 2
    assert files(keys) == ["0", "1", "2"]
