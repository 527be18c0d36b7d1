#!/bin/sh
# make-tls-certs.sh DIR - the Compose stack's private CA and the certificates
# it signs, made once into DIR (the tls-certs volume) with the openssl CLI.
#
#   DIR/ca.pem, DIR/ca.key                the CA (ECDSA P-256, 10 years)
#   DIR/nats-hub.pem, nats-hub.key        NATS hub: nats-hub, eu-gateway, localhost, 127.0.0.1
#   DIR/relay-primary.pem, .key           relay link of ckpool-primary: ckpool-primary, eu-gateway
#
# Runs at every `docker compose up` (service tls-certs) and changes nothing
# while a certificate has more than 30 days left; then it issues a new one
# from the same CA (clients keep trusting ca.pem): nats-hub picks it up at its
# next start or `nats-server --signal reload`, ckpool-primary at the next
# relay connection. Production keeps the CA key off the servers:
# docs/operations.md, "NATS TLS", and docs/relay-protocol.md, "TLS".
set -eu
dir=${1:?usage: make-tls-certs.sh DIR}
umask 027
cd "$dir"

new_key() { # new_key KEYFILE CSRFILE CN
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1" -out "$2" \
		-subj "/CN=$3" 2>/dev/null
}

# issue NAME SUBJECT_ALT_NAMES: NAME.pem / NAME.key signed by the CA, 397 days
issue() {
	if [ -s "$1.pem" ] && openssl x509 -in "$1.pem" -noout -checkend 2592000 >/dev/null; then
		echo "tls-certs: $1 certificate valid for more than 30 days, kept"
		return
	fi
	new_key "$1.key.new" "$1.csr" "$1"
	printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\n' "$2" >"$1.ext"
	openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 397 \
		-extfile "$1.ext" -out "$1.pem.new" 2>/dev/null
	# key first, then certificate: a reader never sees a certificate without its key
	mv "$1.key.new" "$1.key"
	mv "$1.pem.new" "$1.pem"
	rm -f "$1.csr" "$1.ext"
	echo "tls-certs: issued $1 certificate, valid 397 days"
}

if [ ! -s ca.pem ] || [ ! -s ca.key ]; then
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout ca.key -out ca.pem -days 3650 -subj /CN=tbg-compose-ca \
		-addext basicConstraints=critical,CA:TRUE \
		-addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
	rm -f nats-hub.pem relay-primary.pem
	echo "tls-certs: made the CA"
fi
issue nats-hub "DNS:nats-hub,DNS:eu-gateway,DNS:localhost,IP:127.0.0.1"
issue relay-primary "DNS:ckpool-primary,DNS:eu-gateway"
