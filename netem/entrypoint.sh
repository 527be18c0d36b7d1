#!/bin/sh
# Entry point of the Compose `latency-bridge` container (Alpine + iproute2 +
# iptables, cap_add NET_ADMIN). The bridge sits on eu_net, us_net and asia_net
# and is the only path between them. It:
#   1. checks that IP forwarding is on (compose sets the sysctl; we try otherwise),
#   2. finds its interface on each region network by subnet,
#   3. delays traffic with tc netem, in both directions:
#        towards us_net   : netem US_DELAY_MS +/- US_JITTER_MS   (root qdisc of the us interface)
#        towards asia_net : netem ASIA_DELAY_MS +/- ASIA_JITTER_MS
#        towards eu_net   : a prio qdisc whose bands 4 and 5 hold the same two netem
#                           settings, chosen by a firewall mark set on arrival from
#                           us_net (mark 2) or asia_net (mark 3),
#   4. publishes the eu services to the relay networks: a TCP connection to the
#      bridge's own address on a forwarded port (BRIDGE_FORWARDS) is DNATed to
#      the eu service and masqueraded, so eu containers need no routes back,
#   5. prints what it applied and stays in the foreground until SIGTERM.
#
# Settings (environment):
#   EU_SUBNET, US_SUBNET, ASIA_SUBNET   172.20.1.0/24, 172.20.2.0/24, 172.20.3.0/24
#   US_DELAY_MS, US_JITTER_MS           25, 5    (one way)
#   ASIA_DELAY_MS, ASIA_JITTER_MS       75, 10   (one way)
#   NETEM_DISTRIBUTION                  normal
#   NETEM_LIMIT                         10000 packets per netem queue
#   BRIDGE_FORWARDS                     "PORT=EU_IP:PORT ..." (space separated)
#   NETEM_DRY_RUN=1                     print the commands instead of running them, then exit
#   NETEM_IP_FORWARD_FILE               /proc/sys/net/ipv4/ip_forward (tests point it elsewhere)
#   NETEM_READY_FILE                    /tmp/netem-ready (written when everything is applied)
set -eu

EU_SUBNET=${EU_SUBNET:-172.20.1.0/24}
US_SUBNET=${US_SUBNET:-172.20.2.0/24}
ASIA_SUBNET=${ASIA_SUBNET:-172.20.3.0/24}
US_DELAY_MS=${US_DELAY_MS:-25}
US_JITTER_MS=${US_JITTER_MS:-5}
ASIA_DELAY_MS=${ASIA_DELAY_MS:-75}
ASIA_JITTER_MS=${ASIA_JITTER_MS:-10}
NETEM_DISTRIBUTION=${NETEM_DISTRIBUTION:-normal}
NETEM_LIMIT=${NETEM_LIMIT:-10000}
BRIDGE_FORWARDS=${BRIDGE_FORWARDS:-}
NETEM_DRY_RUN=${NETEM_DRY_RUN:-0}
NETEM_IP_FORWARD_FILE=${NETEM_IP_FORWARD_FILE:-/proc/sys/net/ipv4/ip_forward}
NETEM_READY_FILE=${NETEM_READY_FILE:-/tmp/netem-ready}

say() { printf 'latency-bridge: %s\n' "$*"; }
die() { printf 'latency-bridge: error: %s\n' "$*" >&2; exit 1; }

# Runs a command that changes the system, or only prints it in dry-run mode.
run() {
	printf '+ %s\n' "$*"
	if [ "$NETEM_DRY_RUN" != 1 ]; then "$@"; fi
}

# Like run, but a failure is fine (removing something that may not exist).
run_quiet() {
	if [ "$NETEM_DRY_RUN" != 1 ]; then "$@" 2>/dev/null || true; fi
}

is_uint() { case "$1" in '' | *[!0-9]*) return 1 ;; *) return 0 ;; esac; }

check_settings() {
	for pair in "US_DELAY_MS=$US_DELAY_MS" "US_JITTER_MS=$US_JITTER_MS" \
		"ASIA_DELAY_MS=$ASIA_DELAY_MS" "ASIA_JITTER_MS=$ASIA_JITTER_MS" "NETEM_LIMIT=$NETEM_LIMIT"; do
		is_uint "${pair#*=}" || die "${pair%%=*} must be a whole number of milliseconds (got \"${pair#*=}\")"
	done
	case "$NETEM_DISTRIBUTION" in
	normal | pareto | paretonormal | uniform) ;;
	*) die "NETEM_DISTRIBUTION must be normal, pareto, paretonormal or uniform (got \"$NETEM_DISTRIBUTION\")" ;;
	esac
}

# a.b.c.d -> integer
ip_to_int() {
	old_ifs=$IFS
	IFS=.
	# shellcheck disable=SC2086
	set -- $1
	IFS=$old_ifs
	[ $# -eq 4 ] || return 1
	for octet in "$@"; do is_uint "$octet" && [ "$octet" -le 255 ] || return 1; done
	echo $((($1 << 24) + ($2 << 16) + ($3 << 8) + $4))
}

# in_subnet 172.20.2.5 172.20.2.0/24 -> status 0 when inside
in_subnet() {
	sub_addr=$(ip_to_int "$1") || return 1
	sub_net=$(ip_to_int "${2%/*}") || die "bad subnet \"$2\""
	sub_bits=${2#*/}
	is_uint "$sub_bits" && [ "$sub_bits" -le 32 ] || die "bad subnet \"$2\""
	sub_mask=$(((0xFFFFFFFF << (32 - sub_bits)) & 0xFFFFFFFF))
	[ $((sub_addr & sub_mask)) -eq $((sub_net & sub_mask)) ]
}

# Prints "<interface> <address>" of the interface whose IPv4 address is in $1.
interface_in() {
	ip -o -4 addr show | while read -r _ if_name _ if_cidr _; do
		if in_subnet "${if_cidr%/*}" "$1"; then
			echo "${if_name%%@*} ${if_cidr%/*}"
			return 0
		fi
	done
}

find_interfaces() {
	set -- $(interface_in "$EU_SUBNET")
	[ $# -eq 2 ] || die "no interface on eu_net ($EU_SUBNET); is the container attached to it?"
	EU_IF=$1 EU_ADDR=$2
	set -- $(interface_in "$US_SUBNET")
	[ $# -eq 2 ] || die "no interface on us_net ($US_SUBNET); is the container attached to it?"
	US_IF=$1 US_ADDR=$2
	set -- $(interface_in "$ASIA_SUBNET")
	[ $# -eq 2 ] || die "no interface on asia_net ($ASIA_SUBNET); is the container attached to it?"
	ASIA_IF=$1 ASIA_ADDR=$2
	say "eu_net $EU_SUBNET on $EU_IF ($EU_ADDR), us_net $US_SUBNET on $US_IF ($US_ADDR)," \
		"asia_net $ASIA_SUBNET on $ASIA_IF ($ASIA_ADDR)"
}

enable_forwarding() {
	current=$(cat "$NETEM_IP_FORWARD_FILE" 2>/dev/null || echo 0)
	if [ "$current" = 1 ]; then
		say "IP forwarding is on"
	else
		run sysctl -w net.ipv4.ip_forward=1
	fi
}

netem_args() { # delay jitter
	echo "netem delay ${1}ms ${2}ms distribution $NETEM_DISTRIBUTION limit $NETEM_LIMIT"
}

apply_delays() {
	# shellcheck disable=SC2046
	run tc qdisc replace dev "$US_IF" root $(netem_args "$US_DELAY_MS" "$US_JITTER_MS")
	# shellcheck disable=SC2046
	run tc qdisc replace dev "$ASIA_IF" root $(netem_args "$ASIA_DELAY_MS" "$ASIA_JITTER_MS")
	# Towards eu: classify by where the packet came from (marks survive the NAT below).
	run_quiet tc qdisc del dev "$EU_IF" root
	run tc qdisc add dev "$EU_IF" root handle 1: prio bands 5
	# shellcheck disable=SC2046
	run tc qdisc add dev "$EU_IF" parent 1:4 handle 40: $(netem_args "$US_DELAY_MS" "$US_JITTER_MS")
	# shellcheck disable=SC2046
	run tc qdisc add dev "$EU_IF" parent 1:5 handle 50: $(netem_args "$ASIA_DELAY_MS" "$ASIA_JITTER_MS")
	run tc filter add dev "$EU_IF" parent 1: protocol ip prio 1 handle 2 fw flowid 1:4
	run tc filter add dev "$EU_IF" parent 1: protocol ip prio 2 handle 3 fw flowid 1:5
}

# Appends an iptables rule unless it is already there (restarts stay idempotent).
ensure_rule() { # table chain rule...
	table=$1 chain=$2
	shift 2
	if [ "$NETEM_DRY_RUN" != 1 ] && iptables -t "$table" -C "$chain" "$@" 2>/dev/null; then
		return 0
	fi
	run iptables -t "$table" -A "$chain" "$@"
}

apply_forwards() {
	ensure_rule mangle PREROUTING -i "$US_IF" -j MARK --set-mark 2
	ensure_rule mangle PREROUTING -i "$ASIA_IF" -j MARK --set-mark 3
	for forward in $BRIDGE_FORWARDS; do
		port=${forward%%=*}
		dest=${forward#*=}
		is_uint "$port" || die "BRIDGE_FORWARDS: \"$forward\" must be PORT=EU_IP:PORT"
		in_subnet "${dest%:*}" "$EU_SUBNET" ||
			die "BRIDGE_FORWARDS: \"$forward\" must point into eu_net ($EU_SUBNET)"
		for relay_if in "$US_IF" "$ASIA_IF"; do
			ensure_rule nat PREROUTING -i "$relay_if" -p tcp --dport "$port" \
				-j DNAT --to-destination "$dest"
		done
		say "relays reach $dest at <bridge>:$port ($US_ADDR on us_net, $ASIA_ADDR on asia_net)"
	done
	ensure_rule nat POSTROUTING -o "$EU_IF" -j MASQUERADE
}

report() {
	say "applied: towards us_net ${US_DELAY_MS}ms +/- ${US_JITTER_MS}ms," \
		"towards asia_net ${ASIA_DELAY_MS}ms +/- ${ASIA_JITTER_MS}ms" \
		"($NETEM_DISTRIBUTION), the same from each relay network towards eu_net"
	if [ "$NETEM_DRY_RUN" != 1 ]; then
		tc qdisc show
		: >"$NETEM_READY_FILE"
	fi
}

main() {
	check_settings
	[ "$NETEM_DRY_RUN" = 1 ] && say "dry run: printing commands, changing nothing"
	enable_forwarding
	find_interfaces
	apply_delays
	apply_forwards
	report
	[ "$NETEM_DRY_RUN" = 1 ] && exit 0
	trap 'say "stopping"; exit 0' TERM INT
	while :; do
		sleep 3600 &
		wait $! || true
	done
}

main "$@"
