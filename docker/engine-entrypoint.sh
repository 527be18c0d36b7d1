#!/bin/sh
# Engine container entry point: renders the mounted config template (JSON with
# ${NAME} placeholders for secrets such as ${BITCOIN_RPC_PASSWORD} and
# ${RELAY_AUTH_TOKEN}) into /run/ckpool/ckpool.json, then runs the engine.
# A placeholder whose variable is unset or empty stops the start, naming it.
#   engine-entrypoint [TEMPLATE]   (default /etc/ckpool/ckpool.json)
set -eu

template=${1:-/etc/ckpool/ckpool.json}
rendered=${CKPOOL_RENDERED_CONFIG:-/run/ckpool/ckpool.json}
[ -r "$template" ] || { echo "engine-entrypoint: config template $template is not readable" >&2; exit 1; }

names=$(grep -o '\${[A-Z_][A-Z0-9_]*}' "$template" | sort -u | tr -d '${}') || true
script=""
for name in $names; do
	value=$(printenv "$name" || true)
	[ -n "$value" ] || { echo "engine-entrypoint: $template needs \$$name, which is not set" >&2; exit 1; }
	case "$value" in
	*[\"\\\|]* | *"
"*) echo "engine-entrypoint: \$$name must not contain quotes, backslashes, '|' or newlines" >&2; exit 1 ;;
	esac
	script="${script}s|\${${name}}|${value}|g;"
done
umask 077
if [ -n "$script" ]; then sed "$script" "$template" >"$rendered"; else cp "$template" "$rendered"; fi
echo "engine-entrypoint: rendered $template -> $rendered (${names:-no placeholders})" | tr '\n' ' '
echo
exec ckpool -c "$rendered"
