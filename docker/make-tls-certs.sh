#!/bin/sh
# make-tls-certs.sh DIR - the Compose stack's private CA and the NATS hub's
# certificate, made once into DIR (the tls-certs volume) with the openssl CLI.
#
#   DIR/ca.pem, DIR/ca.key            the CA (ECDSA P-256, 10 years)
#   DIR/nats-hub.pem, nats-hub.key    signed by it, for every name clients dial:
#                                     nats-hub, eu-gateway, localhost, 127.0.0.1
#
# Runs at every `docker compose up` (service tls-certs) and changes nothing
# while the certificate has more than 30 days left; then it issues a new one
# from the same CA (clients keep trusting ca.pem) and nats-hub picks it up at
# its next start or `nats-server --signal reload`. Production keeps the CA key
# off the servers: docs/operations.md, "NATS TLS".
set -eu
dir=${1:?usage: make-tls-certs.sh DIR}
umask 027
cd "$dir"
if [ ! -s ca.pem ] || [ ! -s ca.key ]; then
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout ca.key -out ca.pem -days 3650 -subj /CN=tbg-compose-ca \
		-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
	rm -f nats-hub.pem
fi
if [ -s nats-hub.pem ] && openssl x509 -in nats-hub.pem -noout -checkend 2592000 >/dev/null; then
	echo "tls-certs: nats-hub certificate valid for more than 30 days, kept"
	exit 0
fi
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout nats-hub.key.new -out nats-hub.csr -subj /CN=nats-hub
printf 'subjectAltName=DNS:nats-hub,DNS:eu-gateway,DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' \
	> nats-hub.ext
openssl x509 -req -in nats-hub.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 397 \
	-extfile nats-hub.ext -out nats-hub.pem.new
# key first, then certificate: a reader never sees a certificate without its key
mv nats-hub.key.new nats-hub.key
mv nats-hub.pem.new nats-hub.pem
rm -f nats-hub.csr nats-hub.ext
echo "tls-certs: issued nats-hub certificate, valid 397 days"
