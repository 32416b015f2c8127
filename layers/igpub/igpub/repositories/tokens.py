"""Token encryption with KMS. The encryption context binds a ciphertext to its account."""

from __future__ import annotations

from typing import TYPE_CHECKING

from igpub.repositories import aws

if TYPE_CHECKING:
    from mypy_boto3_kms.client import KMSClient


class TokenCipher:
    def __init__(self, key_id: str, *, client: KMSClient | None = None) -> None:
        self._key_id = key_id
        self._client = client

    @property
    def client(self) -> KMSClient:
        if self._client is None:
            self._client = aws.kms()
        return self._client

    def encrypt(self, token: str, *, account_id: str, purpose: str = "instagram") -> bytes:
        resp = self.client.encrypt(
            KeyId=self._key_id,
            Plaintext=token.encode(),
            EncryptionContext={"account_id": account_id, "purpose": purpose},
        )
        return resp["CiphertextBlob"]

    def decrypt(self, ciphertext: bytes, *, account_id: str, purpose: str = "instagram") -> str:
        resp = self.client.decrypt(
            CiphertextBlob=ciphertext,
            EncryptionContext={"account_id": account_id, "purpose": purpose},
        )
        return resp["Plaintext"].decode()
