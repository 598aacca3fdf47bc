#!/bin/sh
# create-files.sh: makes the certificates test-tls uses for a CA-issued ("Let's
# Encrypt-style") gateway certificate.  Needs certtool (Debian: gnutls-bin).
#
#   ca.pem                the test root CA, which a client is pointed at as its database
#   server-fullchain.pem  the server's certificate for "localhost", then the
#                         intermediate that issued it, as certbot's fullchain.pem
#   server-key.pem        its RSA private key, as certbot's privkey.pem
#   server-key-id.txt     sha256: and the hex SHA-256 of the server's
#                         SubjectPublicKeyInfo, computed here without Culvert's code
#
# The outputs are committed; run this again only to replace them (the keys are new
# each time).  The CA keys are thrown away.
set -eu

cd "$(dirname "$0")"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cat > "$work/ca.cfg" <<'CFG'
cn = "Culvert Test Root CA"
organization = "Culvert tests"
serial = 1
expiration_days = 10950
ca
cert_signing_key
crl_signing_key
CFG

cat > "$work/intermediate.cfg" <<'CFG'
cn = "Culvert Test Intermediate CA"
organization = "Culvert tests"
serial = 2
expiration_days = 10950
ca
path_len = 0
cert_signing_key
crl_signing_key
CFG

cat > "$work/server.cfg" <<'CFG'
cn = "localhost"
dns_name = "localhost"
serial = 3
expiration_days = 10950
tls_www_server
signing_key
encryption_key
CFG

certtool --generate-privkey --key-type ecdsa --curve secp256r1 --outfile "$work/ca-key.pem"
certtool --generate-self-signed --load-privkey "$work/ca-key.pem" \
  --template "$work/ca.cfg" --outfile ca.pem

certtool --generate-privkey --key-type ecdsa --curve secp256r1 \
  --outfile "$work/intermediate-key.pem"
certtool --generate-certificate --load-privkey "$work/intermediate-key.pem" \
  --load-ca-certificate ca.pem --load-ca-privkey "$work/ca-key.pem" \
  --template "$work/intermediate.cfg" --outfile "$work/intermediate.pem"

# RSA, as many CA-issued certificates still are; the agents' own keys are ECDSA.
certtool --generate-privkey --key-type rsa --bits 2048 --outfile server-key.pem
certtool --generate-certificate --load-privkey server-key.pem \
  --load-ca-certificate "$work/intermediate.pem" --load-ca-privkey "$work/intermediate-key.pem" \
  --template "$work/server.cfg" --outfile "$work/server.pem"

# certtool writes a text dump before each PEM block: keep the PEM only.
for f in ca.pem "$work/intermediate.pem" "$work/server.pem" server-key.pem; do
  sed -n '/^-----BEGIN/,/^-----END/p' "$f" > "$work/pem" && cat "$work/pem" > "$f"
done
cat "$work/server.pem" "$work/intermediate.pem" > server-fullchain.pem

# The fingerprint the tests expect: SHA-256 over the DER public key, by sha256sum.
certtool --pubkey-info --load-privkey server-key.pem --outder --outfile "$work/spki.der"
printf 'sha256:%s\n' "$(sha256sum "$work/spki.der" | cut -d' ' -f1)" > server-key-id.txt
