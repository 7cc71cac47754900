#!/usr/bin/env python3
"""Seal a Secret the way `kubeseal --format yaml` does, for the tests.

kubeseal itself cannot be installed from the registries this machine reaches,
so the tests seal with kubesealpy, an independent implementation of the same
format (per-value RSA-OAEP(SHA-256) + AES-256-GCM, strict-scope label
`namespace/name`), and write the SealedSecret in kubeseal's layout.

  seal.py cert KEYDIR                      make a sealing key pair in KEYDIR
  seal.py seal KEYDIR SECRET.yaml [--merge-into SEALED.yaml]
  seal.py unseal KEYDIR SEALED.yaml        the Secret it holds (stringData), as
                                           the controller would make it

`seal` writes the SealedSecret on stdout. With --merge-into it behaves like
`kubeseal --merge-into`: the keys of SECRET.yaml are sealed anew and replace
those keys in SEALED.yaml; every other key keeps its ciphertext.
"""

import base64
import datetime
import os
import sys

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from kubesealpy.sealer import Sealer
from kubesealpy.unsealer import Unsealer


def cert(keydir):
    os.makedirs(keydir, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=4096)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sealed-secret")])
    now = datetime.datetime.now(datetime.timezone.utc)
    crt = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    with open(os.path.join(keydir, "tls.crt"), "wb") as f:
        f.write(crt.public_bytes(serialization.Encoding.PEM))
    with open(os.path.join(keydir, "tls.key"), "wb") as f:
        f.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )


def seal(keydir, secret_path, merge_into=None):
    with open(secret_path) as f:
        secret = yaml.safe_load(f)
    meta = secret["metadata"]
    name, namespace = meta["name"], meta.get("namespace") or "default"
    data = {k: base64.b64decode(v) for k, v in (secret.get("data") or {}).items()}
    for k, v in (secret.get("stringData") or {}).items():
        data[k] = v.encode()
    with open(os.path.join(keydir, "tls.crt"), "rb") as f:
        sealer = Sealer.from_certificate_pem(f.read())
    sealed = sealer.seal(
        name=name,
        namespace=namespace,
        data=data,
        secret_type=secret.get("type", "Opaque"),
    )
    encrypted = dict(sealed.spec.encrypted_data)
    if merge_into:
        with open(merge_into) as f:
            doc = yaml.safe_load(f)
        doc["spec"]["encryptedData"].update(encrypted)
    else:
        # kubeseal's layout: creationTimestamp: null, the template repeating
        # name and namespace.
        doc = {
            "apiVersion": "bitnami.com/v1alpha1",
            "kind": "SealedSecret",
            "metadata": {"creationTimestamp": None, "name": name, "namespace": namespace},
            "spec": {
                "encryptedData": encrypted,
                "template": {
                    "metadata": {"creationTimestamp": None, "name": name, "namespace": namespace},
                    "type": secret.get("type", "Opaque"),
                },
            },
        }
    sys.stdout.write("---\n" + yaml.safe_dump(doc, sort_keys=True))


def unseal(keydir, sealed_path):
    with open(sealed_path) as f:
        doc = yaml.safe_load(f)
    unsealer = Unsealer.from_private_key_file(os.path.join(keydir, "tls.key"))
    meta = doc["metadata"]
    data = {
        k: unsealer.unseal_value(base64.b64decode(v), meta["namespace"], meta["name"]).decode()
        for k, v in doc["spec"]["encryptedData"].items()
    }
    out = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": meta["name"], "namespace": meta["namespace"]}, "stringData": data}
    sys.stdout.write(yaml.safe_dump(out, sort_keys=True))


def main(argv):
    if len(argv) == 3 and argv[1] == "cert":
        cert(argv[2])
    elif len(argv) == 4 and argv[1] == "seal":
        seal(argv[2], argv[3])
    elif len(argv) == 4 and argv[1] == "unseal":
        unseal(argv[2], argv[3])
    elif len(argv) == 6 and argv[1] == "seal" and argv[4] == "--merge-into":
        seal(argv[2], argv[3], argv[5])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
