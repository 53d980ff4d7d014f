#!/usr/bin/perl
# table.pl SAMPLES - the bench table: median, min and max of each figure's
# samples, and its ratio to its limit (measured in the same run, or the
# kvmtool figure from ../shared/notes/nested-rig.md for the same rig).
use strict; use warnings;
my %s;
open my $f, '<', $ARGV[0] or die "bench: $ARGV[0]: $!\n";
while (<$f>) {
  chomp;
  my ($k, $v) = /^(\w+)=(.*)$/ or next;
  if ($k eq 'cpu_features') { $s{$k} = [$v]; next; }   # a word, not a sample
  if ($v =~ /^(\d+) (\d+) (\d+)$/) { $v = $2 / $3 / $1 * 1e6; }   # exits ticks freq -> us/exit
  next unless $v =~ /^[0-9.]+$/;
  push @{$s{$k}}, $v;
}
sub stats { my @v = sort { $a <=> $b } @{$s{$_[0]} || []}; return () unless @v;
  my $m = @v % 2 ? $v[$#v/2] : ($v[@v/2-1] + $v[@v/2]) / 2; return ($m, $v[0], $v[-1], scalar @v); }
# kvmtool in the same rig (notes/nested-rig.md): medians
my %kvmtool = (boot => 2.91, blk_read => 64/0.92, blk_write => 64/1.10, blk_4k => 4096/5.32,
               net => 16/0.69*12/16, mem => 1024);
printf "%-44s %9s %9s %9s %3s %10s %7s  %s\n", 'figure', 'median', 'min', 'max', 'n', 'limit', 'ratio', 'target';
sub row { my ($name, $key, $conv, $limit, $target, $inverse) = @_;
  my ($m, $lo, $hi, $n) = stats($key);
  unless (defined $m) { printf "%-44s %9s\n", $name, 'n/a'; return; }
  my @v = map { $conv->($_) } ($m, $lo, $hi);
  ($v[1], $v[2]) = ($v[2], $v[1]) if $v[1] > $v[2];
  my $ratio = defined $limit && $limit > 0 ? $v[0] / $limit : undef;
  printf "%-44s %9.3f %9.3f %9.3f %3d %10s %7s  %s\n", $name, @v, $n,
    defined $limit ? sprintf('%.3f', $limit) : '-', defined $ratio ? sprintf('%.2fx', $ratio) : '-', $target;
}
my $id = sub { $_[0] };
my $ms = sub { $_[0] * 1000 };
my $mibs64 = sub { 64 / ($_[0] || 1e-9) };
my $mibs16 = sub { 16 / ($_[0] || 1e-9) };
my $req = sub { 4096 / ($_[0] || 1e-9) };
sub med { my ($m) = stats($_[0]); $m }
print "vCPU features (--cpu-features): ", ($s{cpu_features} ? $s{cpu_features}[0] : 'all'), "\n";
print "-- boot (Debian arm64 kernel + busybox initramfs, quiet, 1 vCPU, 256 MiB) --\n";
row('saevm start -> guest userspace (s)', 'boot', $id, $kvmtool{boot}, '<= 0.85x kvmtool');
row('guest poweroff -> saevm exit (ms)', 'exit', $ms, 20, '<= 1x (20 ms)');
row('probe guest: start -> its first instruction (s)', 'probe_boot', $id, undef, '');
row('probe guest: poweroff -> saevm exit (ms)', 'probe_exit', $ms, 20, '<= 1x (20 ms)');
row('setup: start -> first KVM_RUN, wall (ms)', 'setup_wall', $ms, undef, '');
row('setup: start -> first KVM_RUN, CPU (ms)', 'setup_cpu', $ms, undef, '');
row('  guest: kernel entry -> its clock starts (s)', 'guest_early', $id, undef, '');
row('  guest: its clock -> userspace (s)', 'guest_uptime', $id, undef, 'kvmtool\'s guest: 1.4-1.7 s');
print "-- MMIO exit round trip --\n";
row('bare KVM_RUN loop (us per exit)', 'bare_ns', $id, undef, 'the limit');
row("through saevm's dispatch, no GIC (us per exit)", 'exit_ns', $id, med('bare_ns'), '<= 1.05x bare');
row("  saevm's default, with the vGIC (us per exit)", 'exit_gic_ns', $id, med('bare_ns'), '');
print "-- block (virtio-blk over mmio, in the guest; limit: the same dd on the file in L1) --\n";
row('64 MiB sequential read, bs=1M (MiB/s)', 'blk_read', $mibs64, 64 / (med('l1_read') || 1), 'vs L1 file');
row('  the same, against kvmtool (MiB/s)', 'blk_read', $mibs64, $kvmtool{blk_read}, '>= 1.3x kvmtool');
row('64 MiB write + fdatasync, bs=1M (MiB/s)', 'blk_write', $mibs64, 64 / (med('l1_write') || 1), 'vs L1 file');
row('  the same, against kvmtool (MiB/s)', 'blk_write', $mibs64, $kvmtool{blk_write}, '>= 1.3x kvmtool');
row('4 KiB O_DIRECT reads (requests/s)', 'blk_4k', $req, $kvmtool{blk_4k}, '>= 1.3x kvmtool');
row('MMIO exits per 4 KiB request', 'blk_exits_per_req', $id, undef, '');
print "-- network (16 MiB TCP; limit: the same transfer over loopback in L1) --\n";
row('user: host -> guest (MiB/s)', 'user_rx', $mibs16, 16 / (med('lo_rx') || 1), 'vs loopback');
row('  the same, against kvmtool user/mmio (MiB/s)', 'user_rx', $mibs16, $kvmtool{net}, '>= 2x kvmtool');
row('user: guest -> host (MiB/s)', 'user_tx', $mibs16, 16 / (med('lo_tx') || 1), 'vs loopback');
row('tap: host -> guest (MiB/s)', 'tap_rx', $mibs16, 16 / (med('lo_rx') || 1), 'vs loopback');
row('tap: guest -> host (MiB/s)', 'tap_tx', $mibs16, 16 / (med('lo_tx') || 1), 'vs loopback');
row('MMIO exits per packet (user)', 'user_exits_per_packet', $id, undef, '');
print "-- memory (idle after boot, 1 vCPU, 128 MiB, no NIC) --\n";
row("saevm's RSS outside guest RAM (KiB)", 'mem_kb', $id, $kvmtool{mem}, '<= 1 MiB');
row('guest RAM touched (KiB, for reference)', 'ram_touched_kb', $id, undef, '');
print "-- sandbox (busybox rootfs over virtio-9p, msize 512 KiB, cache=loose) --\n";
row('saevm run: start -> userspace -> poweroff -> exit (s)', 'run_whole', $id, undef, 'the limit');
row('saevm sandbox -- true: start -> exit (s)', 'sandbox_true', $id, med('run_whole'), '<= 1.2x run');
row('  setup: start -> first KVM_RUN (ms)', 'sb_setup', $ms, undef, '');
row('  guest: kernel entry... -> the init runs (guest uptime, s)', 'sb_kernel', $id, undef, '');
row('  the init loads its modules (s)', 'sb_modules', $id, undef, '');
row('  mounts the 9p root and the share (s)', 'sb_mounts', $id, undef, '');
row('  runs the command (s)', 'sb_command', $id, undef, '');
row('  saevm start -> the init said READY (s)', 'sb_init_up', $id, undef, '');
row('64 MiB read through the share (MiB/s)', 'share_read', $mibs64, 64 / (med('blk_read') || 1), '>= 0.5x virtio-blk');
row('64 MiB write + fsync through the share (MiB/s)', 'share_write', $mibs64, 64 / (med('blk_write') || 1), '>= 0.5x virtio-blk');
row('stat 10,000 files in L1 (s)', 'stat_l1', $id, undef, 'the limit');
row('  the same through the share, cold (s)', 'stat_share_cold', $id, med('stat_l1'), '');
row('  the same, warm (s)', 'stat_share_warm', $id, med('stat_l1'), 'vs L1');
