#!/bin/sh
# check_includes.sh - the engine's include rules, checked from the sources.
#
# Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
#
#   scripts/check_includes.sh layers SRC_DIR   (make check-layers)
#   scripts/check_includes.sh cycles SRC_DIR   (make check-cycles)
#
# layers: the pure layer is every module whose header states the rule (a
#   line with "Pure layer:"); each pure .c/.h may include only pure headers
#   from SRC_DIR, and none of the system headers that mean I/O (sockets,
#   epoll, poll, files, curl, ZMQ).
# cycles: a module is x.c plus x.h; x depends on y when either file
#   includes y.h. tsort(1) finds any cycle in that graph and names it.
# Both print what they found and exit 1 on a violation.
set -eu

mode=$1
src=$2
shift 2

# The quoted includes of a file, as module names, one per line.
includes() {
	sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)\.h".*/\1/p' "$1"
}

check_layers() {
	bad=0
	pure=" $* "
	for m in "$@"; do
		for f in "$src/$m.h" "$src/$m.c"; do
			[ -f "$f" ] || continue
			for inc in $(includes "$f"); do
				case "$pure" in
				*" $inc "*) ;;
				*)
					echo "check-layers: pure $f includes runtime header $inc.h"
					bad=1
					;;
				esac
			done
			if grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*<(curl/|zmq\.h|sys/(socket|epoll|eventfd|signalfd|stat)\.h|netinet/|arpa/|netdb\.h|poll\.h|unistd\.h|fcntl\.h|dirent\.h)' "$f"; then
				echo "check-layers: pure $f includes a system header for I/O (above)"
				bad=1
			fi
		done
	done
	[ $bad -eq 0 ] && echo "check-layers: $# pure modules include only pure headers"
	return $bad
}

check_cycles() {
	edges=$(mktemp)
	trap 'rm -f "$edges" "$edges.err"' EXIT
	nodes=0
	for f in "$src"/*.c "$src"/*.h; do
		m=$(basename "$f")
		m=${m%.*}
		echo "$m $m" >>"$edges"
		for inc in $(includes "$f"); do
			[ "$inc" = "$m" ] || echo "$m $inc" >>"$edges"
		done
	done
	nodes=$(cut -d' ' -f1 "$edges" | sort -u | wc -l)
	if ! tsort "$edges" >/dev/null 2>"$edges.err" || [ -s "$edges.err" ]; then
		cat "$edges.err"
		echo "check-cycles: include cycle among $src modules (tsort names the loop above)"
		return 1
	fi
	echo "check-cycles: no include cycle among $nodes modules in $src ($(grep -vc '^\(\S*\) \1$' "$edges") include edges)"
}

case "$mode" in
layers) check_layers $(grep -l "Pure layer:" "$src"/*.h | sed 's#.*/##; s#\.h$##') ;;
cycles) check_cycles ;;
*) echo "usage: $0 layers SRC_DIR | cycles SRC_DIR" >&2; exit 2 ;;
esac
