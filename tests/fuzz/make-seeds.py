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

# 9p: version, attach, walk to dir/file, getattr, open, read, readdir of
# dir, create, write, clunk: records of len[2] + T-message.
def s9(text):
    b = text.encode()
    return struct.pack('<H', len(b)) + b

def t9(mtype, tag, body):
    return struct.pack('<IBH', 7 + len(body), mtype, tag) + body

msgs = [
    t9(100, 0xffff, struct.pack('<I', 65536) + s9('9P2000.L')),
    t9(104, 1, struct.pack('<II', 0, 0xffffffff) + s9('u') + s9('') + struct.pack('<I', 0)),
    t9(110, 2, struct.pack('<IIH', 0, 1, 2) + s9('dir') + s9('file')),
    t9(24, 3, struct.pack('<IQ', 1, 0x7ff)),
    t9(12, 4, struct.pack('<II', 1, 0)),
    t9(116, 5, struct.pack('<IQI', 1, 0, 4096)),
    t9(110, 6, struct.pack('<IIH', 0, 2, 1) + s9('dir')),
    t9(12, 7, struct.pack('<II', 2, 0o200000)),
    t9(40, 8, struct.pack('<IQI', 2, 0, 4096)),
    t9(110, 9, struct.pack('<IIH', 0, 3, 1) + s9('dir')),
    t9(14, 10, struct.pack('<I', 3) + s9('new') + struct.pack('<III', 2, 0o644, 0)),
    t9(118, 11, struct.pack('<IQI', 3, 0, 5) + b'hello'),
    t9(120, 12, struct.pack('<I', 3)),
]
import os
os.makedirs('tests/fuzz/corpus/9p', exist_ok=True)
open('tests/fuzz/corpus/9p/session', 'wb').write(b'\x00' + b''.join(struct.pack('<H', len(m)) + m for m in msgs))

# FUSE (virtio-fs): init, lookup dir then file, getattr, open, read,
# opendir, readdirplus, create, write, forget: records of len[2] + request
# (nodeids as the server gives them out: root 1, then 2, 3...).
def fuse(op, unique, nodeid, body):
    return struct.pack('<IIQQIIII', 40 + len(body), op, unique, nodeid, 0, 0, 1, 0) + body

reqs = [
    fuse(26, 1, 0, struct.pack('<IIII', 7, 38, 65536, 0x6001) + b'\0' * 48),
    fuse(1, 2, 1, b'dir\0'),
    fuse(1, 3, 2, b'file\0'),
    fuse(3, 4, 3, struct.pack('<IIQ', 0, 0, 0)),
    fuse(14, 5, 3, struct.pack('<II', 0, 0)),
    fuse(15, 6, 3, struct.pack('<QQIIQII', 1, 0, 4096, 0, 0, 0, 0)),
    fuse(27, 7, 2, struct.pack('<II', 0, 0)),
    fuse(44, 8, 2, struct.pack('<QQIIQII', 2, 0, 4096, 0, 0, 0, 0)),
    fuse(35, 9, 2, struct.pack('<IIII', 0o102, 0o100644, 0o22, 0) + b'new\0'),
    fuse(16, 10, 4, struct.pack('<QQIIQII', 3, 0, 5, 0, 0, 0, 0) + b'hello'),
    fuse(2, 11, 3, struct.pack('<Q', 1)),
]
os.makedirs('tests/fuzz/corpus/fuse', exist_ok=True)
open('tests/fuzz/corpus/fuse/session', 'wb').write(b'\x00' + b''.join(struct.pack('<H', len(m)) + m for m in reqs))

# vsock: 128 KiB of RAM with a guest REQUEST to host port 1 (which has a
# listener) and a RW packet, receive buffers; ops bring the device up with
# three queues, serve them, let the host accept and connect back.
ram = bytearray(0x20000)
def vhdr(op, src_port, dst_port, length=0, flags=0):
    return struct.pack('<QQIIIHHIII', 3, 2, src_port, dst_port, length, 1, op, flags, 65536, 0)
# receive queue at 0x1000 (desc), 0x1800 (avail), 0x1c00 (used): 4 buffers
for i in range(4):
    ram[0x1000 + 16 * i:0x1010 + 16 * i] = desc(RAM_GPA + 0x8000 + 0x1100 * i, 0x1100, 2, 0)
ram[0x1800:0x180c] = struct.pack('<HHHHHH', 0, 4, 0, 1, 2, 3)
# transmit queue at 0x2000/0x2800/0x2c00: REQUEST, then RW "hello"
ram[0x2000:0x2030] = desc(RAM_GPA + 0x4000, 44, 0, 0) + desc(RAM_GPA + 0x4100, 44, 1, 2) + desc(RAM_GPA + 0x4200, 5, 0, 0)
ram[0x2800:0x2808] = struct.pack('<HHHH', 0, 2, 0, 1)
ram[0x4000:0x402c] = vhdr(1, 1025, 1)
ram[0x4100:0x412c] = vhdr(5, 1025, 1, 5)
ram[0x4200:0x4205] = b'hello'
def vop(write, off, value=0):
    return struct.pack('>BBH', 0, (0x20 if write else 0) | 2, off) + struct.pack('<I', value)
ops = b''
for off, value in [(0x70, 0), (0x70, 3), (0x24, 1), (0x20, 1), (0x70, 11)]:
    ops += vop(True, off, value)
for q, base in [(0, 0x1000), (1, 0x2000), (2, 0x3000)]:
    for off, value in [(0x30, q), (0x38, 8), (0x80, RAM_GPA + base), (0x84, 0), (0x90, RAM_GPA + base + 0x800),
                       (0x94, 0), (0xa0, RAM_GPA + base + 0xc00), (0xa4, 0), (0x44, 1)]:
        ops += vop(True, off, value)
ops += vop(True, 0x70, 15)
turn = struct.pack('>BBH', 0, 0x80, 0) + b'\0' * 4
ops += turn + struct.pack('>BBBB', 0, 0x43, 0, 0) + b'\0' * 4 + turn   # accept the guest's stream
ops += struct.pack('>BBBB', 0, 0x40, 1, 7) + b'\1\0\0\0' + turn       # a host program: CONNECT 7
ops += struct.pack('>BBBB', 0, 0x41, 0, 2) + b'\4\0\0\0' + turn       # the accepted one writes
ops += struct.pack('>BBBB', 0, 0x42, 0, 0) + b'\0\0\0\0' + turn + turn
os.makedirs('tests/fuzz/corpus/vsock', exist_ok=True)
open('tests/fuzz/corpus/vsock/connect', 'wb').write(bytes(ram) + ops)
