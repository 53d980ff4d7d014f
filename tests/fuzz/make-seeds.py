#!/usr/bin/env python3
"""make-seeds.py - writes the seed inputs of tests/fuzz/corpus/{virtqueue,devices}:
well-formed rings and a driver bring-up, so the fuzzers start deep inside
the code instead of at the first check. Run from the repository root."""
import struct

RAM_GPA = 0x40000000

def desc(addr, length, flags, nxt):
    return struct.pack('<QIHH', addr, length, flags, nxt)

# virtqueue: 4 control bytes (size 2^3, avail at +0x4000, used at +0x8000,
# event-idx and indirect), then RAM: a header/data/status chain.
ram = bytearray(0x8100)
ram[0:48] = desc(RAM_GPA + 0x1000, 16, 1, 1) + desc(RAM_GPA + 0x1100, 512, 3, 2) + desc(RAM_GPA + 0x1400, 1, 2, 0)
ram[0x4000:0x4006] = struct.pack('<HHH', 0, 1, 0)
open('tests/fuzz/corpus/virtqueue/chain', 'wb').write(bytes([3, 0, 0, 3]) + bytes(ram))

# devices: 128 KiB of RAM holding a virtio-blk read request, then ops that
# bring device 0 (virtio-blk) up and let it serve the queue.
ram = bytearray(0x20000)
ram[0x1000:0x1030] = desc(RAM_GPA + 0x5000, 16, 1, 1) + desc(RAM_GPA + 0x6000, 512, 3, 2) + desc(RAM_GPA + 0x7000, 1, 2, 0)
ram[0x2000:0x2006] = struct.pack('<HHH', 0, 1, 0)
ram[0x5000:0x5010] = struct.pack('<IIQ', 0, 0, 2)  # VIRTIO_BLK_T_IN, sector 2

def op(dev, write, off, value=0, size_log2=2):
    return struct.pack('>BBH', dev, (0x20 if write else 0) | size_log2, off) + struct.pack('<I', value)

ops = b''
for off, value in [(0x70, 0), (0x70, 3), (0x24, 1), (0x20, 1), (0x70, 11), (0x30, 0), (0x38, 8),
                   (0x80, RAM_GPA + 0x1000), (0x84, 0), (0x90, RAM_GPA + 0x2000), (0x94, 0),
                   (0xa0, RAM_GPA + 0x3000), (0xa4, 0), (0x44, 1), (0x70, 15)]:
    ops += op(0, True, off, value)
ops += struct.pack('>BBH', 0, 0x80, 0) + b'\0' * 4  # process the queues
ops += op(0, False, 0x60) + op(0, False, 0x100, 0, 3) + op(1, False, 0x100) + op(2, True, 0x70, 0)
open('tests/fuzz/corpus/devices/blk-read', 'wb').write(bytes(ram) + ops)
