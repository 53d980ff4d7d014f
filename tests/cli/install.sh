#!/usr/bin/env bash
# install.sh - make install PREFIX=... puts the binary, the man page and the
# example config where they belong, and the man page renders.
set -euo pipefail
cd "$(dirname "$0")/../.."
D=$(mktemp -d); trap 'rm -rf "$D"' EXIT
make -s install PREFIX=/opt/saevm DESTDIR="$D" >/dev/null
fail=0
for f in bin/saevm bin/saevm-mkrootfs share/man/man1/saevm.1 share/doc/saevm/vmm.conf.example; do
  [[ -f $D/opt/saevm/$f ]] || { echo "install: missing $f"; fail=1; }
done
"$D/opt/saevm/bin/saevm" version | grep -q '^saevm ' || { echo "install: the binary does not run"; fail=1; }
if command -v man >/dev/null; then
  MANWIDTH=80 man -l "$D/opt/saevm/share/man/man1/saevm.1" 2>/dev/null | grep -q 'CONTROL SOCKET' ||
    { echo "install: the man page does not render"; fail=1; }
fi
echo "install: $((fail == 0 ? 1 : 0)) passed, $fail failed"
exit $fail
