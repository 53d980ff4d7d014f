#!/usr/bin/env bash
# one-door.sh - every guest-physical address becomes a host pointer through
# guest_mem_ptr() (vmm/memory.h) and nowhere else: no other file may touch
# the RAM mapping (struct guest_mem's .host) except to register it with KVM.
set -uo pipefail
cd "$(dirname "$0")/../.."
hits=$(grep -nE '\bmem\w*(\.|->)host\b' vmm/*.c devices/*.c boot/*.c fdt/*.c | grep -v '^vmm/memory\.c:' |
       grep -v 'kvm_add_memslot(&vm->kvm, 0, RAM_BASE, cfg->mem_bytes, vm->mem.host, err)')
if [[ -n $hits ]]; then
  echo "one-door: guest RAM used outside the memory door:"; echo "$hits"
  echo "one-door: 0 passed, 1 failed"; exit 1
fi
echo "one-door: 1 passed, 0 failed"
