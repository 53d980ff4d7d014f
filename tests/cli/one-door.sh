#!/usr/bin/env bash
# one-door.sh - every guest-physical address becomes a host pointer through
# guest_mem_ptr() (vmm/memory.h) and nowhere else: no other file may touch
# the RAM mapping (struct guest_mem's .host) except to register it with KVM.
set -uo pipefail
cd "$(dirname "$0")/../.."
hits=$(grep -nE '\bmem\w*(\.|->)host\b' vmm/*.c devices/*.c devices/*/*.c boot/*.c fdt/*.c | grep -v '^vmm/memory\.c:' |
       grep -v 'kvm_add_memslot(&vm->kvm, 0, RAM_BASE, cfg->mem_bytes, vm->mem.host, err)')
pass=0 fail=0
if [[ -n $hits ]]; then
  echo "one-door: guest RAM used outside the memory door:"; echo "$hits"; fail=$((fail + 1))
else pass=$((pass + 1)); fi
# The rings are shared with a guest that may rewrite them while we read:
# the virtqueue walker loads and stores ring fields only through vmm/le.h's
# *_shared helpers (each field read once, never torn).
hits=$(grep -nE '\ble(16|32|64)_(load|store)\(' devices/virtqueue.c)
if [[ -n $hits ]]; then
  echo "one-door: ring fields read without the *_shared helpers:"; echo "$hits"; fail=$((fail + 1))
else pass=$((pass + 1)); fi
echo "one-door: $pass passed, $fail failed"
[[ $fail == 0 ]]
