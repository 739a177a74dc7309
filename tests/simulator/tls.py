"""A self-signed certificate for the simulator's optional TLS.

Made with the `openssl` command line (the `cryptography` package is not a
dependency of this project): an EC P-256 key and a certificate for 127.0.0.1
and localhost, valid for 30 days. The certificate file doubles as the CA
bundle a client trusts (`--ca-bundle`).
"""

import os
import shutil
import subprocess
import tempfile


class CertificateError(RuntimeError):
    pass


def make_self_signed(directory=None, common_name="127.0.0.1"):
    """Write cert.pem and key.pem into `directory` (a new temp dir by default).

    Returns (cert_path, key_path). Reuses a pair already in the directory.
    """
    directory = directory or tempfile.mkdtemp(prefix="events-api-sim-tls-")
    os.makedirs(directory, exist_ok=True)
    cert = os.path.join(directory, "cert.pem")
    key = os.path.join(directory, "key.pem")
    if os.path.isfile(cert) and os.path.isfile(key):
        return cert, key
    openssl = shutil.which("openssl")
    if openssl is None:
        raise CertificateError("TLS needs the openssl command line tool to make a self-signed certificate")
    command = [
        openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", key, "-out", cert, "-days", "30", "-subj", "/CN=%s" % common_name,
        "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,digitalSignature,keyCertSign",
        "-addext", "extendedKeyUsage=serverAuth",
    ]
    result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=False)
    if result.returncode != 0:
        raise CertificateError("openssl could not make a certificate: %s" % result.stderr.strip()[-500:])
    os.chmod(key, 0o600)
    return cert, key
