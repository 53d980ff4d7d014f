#!/usr/bin/perl
# table.pl SAMPLES [SVG] - the bench table, and with SVG a bar chart of it.
# First saevm against QEMU, both measured alternately in the same L1 boot
# (samples "saevm.KEY" and "qemu.KEY"): each one's median (min-max) and the
# ratio saevm/QEMU against its target. Then saevm's own figures against
# the limits measured in the same run (the same work done in L1 itself).
use strict; use warnings;
my (%s, %word);
open my $f, '<', $ARGV[0] or die "bench: $ARGV[0]: $!\n";
while (<$f>) {
  chomp;
  my ($k, $v) = /^([\w.]+)=(.*)$/ or next;
  $v =~ s/\s+$//;
  if ($v =~ /^(\d+) (\d+) (\d+)$/) { $v = $2 / $3 / $1 * 1e6; }   # exits ticks freq -> us/exit
  if ($v !~ /^-?[0-9.]+$/) { $word{$k} //= $v; next; }
  push @{$s{$k}}, $v;
  push @{$s{'saevm.tmpfs_tree'}}, $v if $k =~ /^saevm\.(fs|9p)_tmpfs_tree$/;   # the guest's own limit
}
sub stats { my @v = sort { $a <=> $b } @{$_[0] || []}; return () unless @v;
  my $m = @v % 2 ? $v[$#v/2] : ($v[@v/2-1] + $v[@v/2]) / 2; return ($m, $v[0], $v[-1], scalar @v); }
sub med { my ($m) = stats($s{$_[0]}); $m }
my $id = sub { $_[0] };
my $ms = sub { $_[0] * 1000 };
sub per { my $q = shift; sub { $q / ($_[0] || 1e-9) } }   # seconds -> MiB/s or requests/s

print "vCPU features: ", $word{cpu_features} // 'all', "; peer: QEMU ", $word{qemu_version} // '?', "\n";
print "== saevm against QEMU (KVM), alternately in the same L1 boot ==\n";
printf "%-46s %-24s %-24s %3s %7s %8s\n", 'figure', 'saevm median (min-max)', 'QEMU median (min-max)', 'n', 'ratio', 'target';
my @bars;   # for the chart: label, ratio, lowest and highest pair ratio, target, met
my $chart_tag = '';   # what tells a section's rows apart in the chart
sub cmp_row { my ($name, $key, $conv, $op, $target) = @_;
  my @sv = map { $conv->($_) } @{$s{"saevm.$key"} || []};
  my @qv = map { $conv->($_) } @{$s{"qemu.$key"} || []};
  my @a = stats(\@sv); my @b = stats(\@qv);
  unless (@a && @b) { printf "%-46s %s\n", $name, 'n/a'; return; }
  my $ratio = $b[0] > 0 ? $a[0] / $b[0] : 0;
  my $met = !defined $op ? undef : $op eq '<=' ? $ratio <= $target : $ratio >= $target;
  # Each pair of one saevm run and the QEMU run after it: the spread of the
  # ratio from one pair to the next.
  my @pr = map { $qv[$_] > 0 ? $sv[$_] / $qv[$_] : () } 0 .. ($#sv < $#qv ? $#sv : $#qv);
  my @p = stats(\@pr);
  my $fmt = sub { my ($m, $lo, $hi) = @_; my $d = $m >= 100 ? 0 : $m >= 10 ? 1 : 3;
    sprintf("%.${d}f (%.${d}f-%.${d}f)", $m, $lo, $hi) };
  printf "%-46s %-24s %-24s %3d %6.2fx %8s %s\n", $name, $fmt->(@a), $fmt->(@b), ($a[3] < $b[3] ? $a[3] : $b[3]),
    $ratio, defined $op ? "$op $target" . 'x' : '-', !defined $met ? '' : $met ? 'met' : 'MISSED';
  (my $label = $name) =~ s/^\s+//;
  push @bars, ["$label$chart_tag, want $op ${target}x", $ratio, $p[1] // $ratio, $p[2] // $ratio, $op, $target, $met]
    if defined $op;   # the chart shows the rows with a target
}
print "-- boot (Debian arm64 kernel + busybox initramfs, quiet, 1 vCPU, 256 MiB) --\n";
cmp_row('start -> guest userspace (s)', 'boot', $id, '<=', 0.7);
cmp_row('  setup: start -> first KVM_RUN (ms)', 'setup', $ms, '<=', 0.3);
cmp_row('  guest: kernel entry -> its clock starts (s)', 'guest_early', $id);
cmp_row('  guest: its clock -> userspace (s)', 'guest_uptime', $id, '<=', 1.0);
cmp_row("guest's SYSTEM_OFF -> the VMM's exit (ms)", 'exit', $ms, '<=', 0.3);
my $alt = $word{alt_cpu_features} // 'none';
print "-- the same boot, both with vCPU features: $alt (",
  $alt eq 'none' ? 'no pointer authentication, SVE, PMU, stolen time' : 'what the host has', ") --\n";
$chart_tag = ", features $alt";
cmp_row('start -> guest userspace (s)', 'alt_boot', $id, '<=', 0.7);
cmp_row('  setup: start -> first KVM_RUN (ms)', 'alt_setup', $ms, '<=', 0.3);
cmp_row('  guest: kernel entry -> its clock starts (s)', 'alt_guest_early', $id);
cmp_row('  guest: its clock -> userspace (s)', 'alt_guest_uptime', $id, '<=', 1.0);
cmp_row("guest's SYSTEM_OFF -> the VMM's exit (ms)", 'alt_exit', $ms, '<=', 0.3);
$chart_tag = '';
print "-- the same boot with the kernel's whole log on the console (no quiet) --\n";
$chart_tag = ', whole log';
cmp_row('start -> guest userspace (s)', 'verbose_boot', $id, '<=', 1.0);
cmp_row('  guest: its clock -> userspace (s)', 'verbose_guest_uptime', $id, '<=', 1.0);
$chart_tag = '';
{ # saevm's MMIO exits per console byte: what the log added over the quiet boot
  my ($ve, $vb, $qe, $qb) = map { med("saevm.$_") } qw(verbose_mmio_exits verbose_console_bytes mmio_exits console_bytes);
  printf "%-46s %s\n", "  saevm's MMIO exits per console byte",
    !defined $ve || !$vb ? 'n/a' : defined $qe && defined $qb && $vb > $qb
      ? sprintf("%.2f (%d more exits for %d more bytes than quiet)", ($ve - $qe) / ($vb - $qb), $ve - $qe, $vb - $qb)
      : sprintf("%.2f (%d exits, %d bytes)", $ve / $vb, $ve, $vb);
}
print "-- memory (idle after boot, 1 vCPU, 128 MiB, no NIC) --\n";
cmp_row('resident outside guest RAM (KiB, smaps_rollup)', 'mem_kb', $id, '<=', 0.1);
cmp_row('  the same from VmRSS (KiB, batched counters)', 'mem_vmrss_kb', $id);
cmp_row('  of which code: binary and libraries (KiB)', 'mem_text_kb', $id);
cmp_row('  of which their data (KiB)', 'mem_filedata_kb', $id);
cmp_row('  of which the heap (KiB)', 'mem_heap_kb', $id);
cmp_row('  of which the main stack (KiB)', 'mem_stack_kb', $id);
cmp_row('  of which thread stacks (KiB)', 'mem_threads_kb', $id);
cmp_row('  of which other anonymous memory (KiB)', 'mem_anon_kb', $id);
cmp_row('  guest RAM touched (KiB)', 'ram_touched_kb', $id);
{ # kvmtool is not packaged in Debian 12: its figure is the one measured by
  # hand, alternately with saevm in one L1 boot (issue 25), static arm64
  my $kvmtool = 1140; my $m = med('saevm.mem_kb');
  printf "%-46s %s\n", "  saevm against kvmtool's $kvmtool KiB", !defined $m ? 'n/a' :
    sprintf("%.2fx (target <= 0.8x) %s", $m / $kvmtool, $m / $kvmtool <= 0.8 ? 'met' : 'MISSED');
}
print "-- block (virtio-blk over mmio, in the guest) --\n";
cmp_row('64 MiB sequential read, bs=1M (MiB/s)', 'blk_read', per(64), '>=', 1.2);
cmp_row('64 MiB write + fdatasync, bs=1M (MiB/s)', 'blk_write', per(64), '>=', 1.2);
cmp_row('4 KiB O_DIRECT reads, QD1 (requests/s)', 'blk_4k', per(med('blk_4k_reqs') // 2048), '>=', 1.0);
cmp_row("  the guest's mean request, reading (KiB)", 'blk_read_req_kib', $id);
cmp_row("  the guest's mean request, writing (KiB)", 'blk_write_req_kib', $id);
cmp_row("VMM's CPU per MiB, sequential read (ms)", 'blk_read_cpu', $ms, '<=', 0.8);
cmp_row("VMM's CPU per MiB, write (ms)", 'blk_write_cpu', $ms, '<=', 0.8);
cmp_row("VMM's CPU per MiB, 4 KiB reads (ms)", 'blk_4k_cpu', $ms, '<=', 0.8);
# The other part of each step's time: the guest's own work (its vCPU in
# the guest), which the VMM does not do but can make dearer.
cmp_row("  the guest's own CPU per MiB, read (ms)", 'blk_read_guest', $ms);
cmp_row("  the guest's own CPU per MiB, write (ms)", 'blk_write_guest', $ms);
my $net = med('net_mib') // 16;   # MiB each way
print "-- user-mode network (libslirp, $net MiB TCP each way) --\n";
cmp_row('host -> guest (MiB/s)', 'user_rx', per($net), '>=', 1.2);
cmp_row('guest -> host (MiB/s)', 'user_tx', per($net), '>=', 1.2);
cmp_row("VMM's CPU per MiB, host -> guest (ms)", 'user_rx_cpu', $ms, '<=', 0.8);
cmp_row("VMM's CPU per MiB, guest -> host (ms)", 'user_tx_cpu', $ms, '<=', 0.8);
cmp_row("  the guest's own CPU per MiB, host -> guest (ms)", 'user_rx_guest', $ms);
cmp_row("  the guest's own CPU per MiB, guest -> host (ms)", 'user_tx_guest', $ms);
my ($smib, $s4k) = (med('share_mib') // 64, med('share_4k_reqs') // 512);
for my $p (['fs', 'virtio-fs', 'QEMU + virtiofsd'], ['9p', 'virtio-9p', "QEMU's 9p"]) {
  my ($k, $what, $peer) = @$p;
  print "-- share over $what: saevm against $peer (one L1 directory, the same guest and work) --\n";
  $chart_tag = ", $k";
  cmp_row("$smib MiB write + fsync (MiB/s)", "${k}_sh_write", per($smib), '>=', 1.0);
  cmp_row("$smib MiB sequential read (MiB/s)", "${k}_sh_read", per($smib), '>=', 1.0);
  cmp_row('4 KiB O_DIRECT reads, QD1 (requests/s)', "${k}_sh_4k", per($s4k), '>=', 1.0);
  cmp_row('stat 5,000 files, cold (s)', "${k}_sh_stat_cold", $id, '<=', 1.0);
  cmp_row('stat 5,000 files, warm (s)', "${k}_sh_stat_warm", $id, '<=', 1.0);
  cmp_row('untar + sha256sum + rm, busybox source (s)', "${k}_sh_tree", $id, '<=', 1.0);
  cmp_row("  the same in the guest's tmpfs (s)", "${k}_tmpfs_tree", $id);
  cmp_row("VMM's CPU per MiB, write (ms)", "${k}_sh_write_cpu", $ms);
  cmp_row("VMM's CPU per MiB, read (ms)", "${k}_sh_read_cpu", $ms);
}
$chart_tag = '';
# The same guest work: what the guest saw under each VMM.
for my $w (['devices', "guest's virtio devices (id:driver), boot"], ['blk_devices', '... block rows'],
           ['net_devices', '... network rows'], ['fs_share_devices', '... virtio-fs rows'],
           ['9p_share_devices', '... 9p rows'], ['cpu', "guest's CPU features"],
           ['alt_cpu', "... with vCPU features $alt"]) {
  my ($a, $b) = ($word{"saevm.$w->[0]"} // '?', $word{"qemu.$w->[0]"} // '?');
  s/\+/ /g for $a, $b;
  printf "%s: %s\n", $w->[1], $a eq $b ? "the same under both: $a" : "DIFFER: saevm $a; QEMU $b";
}

print "\n== saevm's own figures, against limits measured in the same run ==\n";
printf "%-46s %9s %9s %9s %3s %10s %7s  %s\n", 'figure', 'median', 'min', 'max', 'n', 'limit', 'ratio', 'target';
sub row { my ($name, $key, $conv, $limit, $target) = @_;
  my ($m, $lo, $hi, $n) = stats($s{$key});
  unless (defined $m) { printf "%-46s %9s\n", $name, 'n/a'; return; }
  my @v = map { $conv->($_) } ($m, $lo, $hi);
  ($v[1], $v[2]) = ($v[2], $v[1]) if $v[1] > $v[2];
  my $ratio = defined $limit && $limit > 0 ? $v[0] / $limit : undef;
  printf "%-46s %9.3f %9.3f %9.3f %3d %10s %7s  %s\n", $name, @v, $n,
    defined $limit ? sprintf('%.3f', $limit) : '-', defined $ratio ? sprintf('%.2fx', $ratio) : '-', $target // '';
}
row('setup: start -> first KVM_RUN, CPU (ms)', 'setup_cpu', $ms);
row("SYSTEM_OFF -> the end of saevm's main (ms)", 'saevm_exit_main', $ms, 1000 * (med('saevm.exit') || 1e9),
    'share of the poweroff row');
row('probe guest: start -> its first instruction (s)', 'probe_boot', $id);
row('probe guest: poweroff -> saevm exit (ms)', 'probe_exit', $ms, 20, '<= 1x (20 ms)');
row('bare KVM_RUN loop (us per exit)', 'bare_ns', $id, undef, 'the limit');
row("MMIO exit through saevm, no GIC (us)", 'exit_ns', $id, med('bare_ns'), '<= 1.05x bare');
row("  saevm's default, with the vGIC (us)", 'exit_gic_ns', $id, med('bare_ns'));
row('block read (MiB/s)', 'saevm.blk_read', per(64), 64 / (med('l1_read') || 1), 'vs dd on the file in L1');
row('block write + fdatasync (MiB/s)', 'saevm.blk_write', per(64), 64 / (med('l1_write') || 1), 'vs dd on the file in L1');
row('MMIO exits per 4 KiB request', 'blk_exits_per_req', $id);
row('user: host -> guest (MiB/s)', 'saevm.user_rx', per($net), $net / (med('lo_rx') || 1), 'vs loopback in L1');
row('user: guest -> host (MiB/s)', 'saevm.user_tx', per($net), $net / (med('lo_tx') || 1), 'vs loopback in L1');
row('tap: host -> guest (MiB/s)', 'tap_rx', per($net), $net / (med('lo_rx') || 1), 'vs loopback in L1');
row('tap: guest -> host (MiB/s)', 'tap_tx', per($net), $net / (med('lo_tx') || 1), 'vs loopback in L1');
row('MMIO exits per packet (user)', 'user_exits_per_packet', $id);
row('vsock: guest -> host, 64 MiB (MiB/s)', 'saevm.vsock_tx', per(64), 64 / (med('saevm.user_tx64') || 1e9),
    '>= 2x user (same guest)');
row('vsock: host -> guest, 64 MiB (MiB/s)', 'saevm.vsock_rx', per(64), 64 / (med('saevm.user_rx64') || 1e9),
    '>= 2x user (same guest)');
row('  user networking, guest -> host, 64 MiB (MiB/s)', 'saevm.user_tx64', per(64));
row('  user networking, host -> guest, 64 MiB (MiB/s)', 'saevm.user_rx64', per(64));
row("  saevm's CPU per MiB, vsock guest -> host (ms)", 'saevm.vsock_tx_cpu', $ms);
row("  saevm's CPU per MiB, vsock host -> guest (ms)", 'saevm.vsock_rx_cpu', $ms);
print "-- sandbox (busybox rootfs over virtio-fs) --\n";
row('saevm run: start -> userspace -> poweroff -> exit (s)', 'run_whole', $id, undef, 'the limit');
row('saevm sandbox -- true: start -> exit (s)', 'sandbox_true', $id, med('run_whole'), '<= 1.2x run');
row('  setup: start -> first KVM_RUN (ms)', 'sb_setup', $ms);
row('  guest: kernel entry -> the init runs (uptime, s)', 'sb_kernel', $id);
row('  the init loads its modules (s)', 'sb_modules', $id);
row('  mounts the root and the share (s)', 'sb_mounts', $id);
row('  runs the command (s)', 'sb_command', $id);
row('  saevm start -> the init said READY (s)', 'sb_init_up', $id);
row('saevm exec NAME -- true: start -> exit (s)', 'exec_true', $id, med('sandbox_true'), '<= 0.05x sandbox');
row('  connect: start -> the stream to the init (ms)', 'exec_connect', $ms);
row("  spawn: the init's accept -> the command runs (ms)", 'exec_spawn', $ms);
row('  run: the command itself (ms)', 'exec_run', $ms);
row('  exit: its end -> status and sync (ms)', 'exec_exit', $ms);
print "-- share (the rows above), against virtio-blk, L1 and the guest's tmpfs --\n";
row("virtio-fs: $smib MiB read (MiB/s)", 'saevm.fs_sh_read', per($smib), 64 / (med('saevm.blk_read') || 1), '>= 0.8x virtio-blk');
row("virtio-fs: $smib MiB write + fsync (MiB/s)", 'saevm.fs_sh_write', per($smib), 64 / (med('saevm.blk_write') || 1), '>= 0.8x virtio-blk');
row('virtio-fs: 4 KiB O_DIRECT reads, QD1 (req/s)', 'saevm.fs_sh_4k', per($s4k), (med('blk_4k_reqs') // 1024) / (med('saevm.blk_4k') || 1e9), 'vs virtio-blk');
row("  9p: $smib MiB read (MiB/s)", 'saevm.9p_sh_read', per($smib), 64 / (med('saevm.blk_read') || 1));
row("  9p: $smib MiB write + fsync (MiB/s)", 'saevm.9p_sh_write', per($smib), 64 / (med('saevm.blk_write') || 1));
row('  9p: 4 KiB O_DIRECT reads, QD1 (req/s)', 'saevm.9p_sh_4k', per($s4k), (med('blk_4k_reqs') // 1024) / (med('saevm.blk_4k') || 1e9));
row('stat 5,000 files in L1 (s)', 'stat_l1', $id, undef, 'the limit');
row('  virtio-fs, cold (s)', 'saevm.fs_sh_stat_cold', $id, med('stat_l1'), '<= 5x L1');
row('  virtio-fs, warm (s)', 'saevm.fs_sh_stat_warm', $id, med('stat_l1'), '<= 1.5x L1');
row('  9p, cold (s)', 'saevm.9p_sh_stat_cold', $id, med('stat_l1'));
row('  9p, warm (s)', 'saevm.9p_sh_stat_warm', $id, med('stat_l1'));
row('untar + sha256sum + rm in L1 (s)', 'tree_l1', $id, undef, 'the limit');
row("  in the guest's tmpfs, under saevm (s)", 'saevm.tmpfs_tree', $id, undef, 'the limit');
row('  through virtio-fs (s)', 'saevm.fs_sh_tree', $id, med('saevm.tmpfs_tree'), "<= 3x the guest's tmpfs");
row('  through 9p (s)', 'saevm.9p_sh_tree', $id, med('saevm.tmpfs_tree'));

exit 0 unless $ARGV[1];
# The chart: one bar per saevm/QEMU row on a log scale around 1x, green
# where the target is met, red where not, grey without one; the whisker is
# the spread of the ratio over the pairs, the black tick the target.
# Rows without a target (the breakdowns) are only in the table.
my ($W, $left, $rowh, $top) = (1000, 420, 26, 50);
my ($lo, $hi) = (0.01, 10);
my $x = sub { my $r = $_[0] < $lo ? $lo : $_[0] > $hi ? $hi : $_[0];
  $left + (log($r / $lo) / log($hi / $lo)) * ($W - $left - 20) };
my $H = $top + @bars * $rowh + 40;
my $esc = sub { my $t = shift; $t =~ s/&/&amp;/g; $t =~ s/</&lt;/g; $t =~ s/>/&gt;/g; $t };
open my $o, '>', $ARGV[1] or die "bench: $ARGV[1]: $!\n";
print $o qq{<svg xmlns="http://www.w3.org/2000/svg" width="$W" height="$H" font-family="sans-serif" font-size="12">\n},
  qq{<rect width="100%" height="100%" fill="white"/>\n},
  qq{<text x="10" y="20" font-size="14">saevm / QEMU (KVM), same L1 boot: ratio of medians (log scale); }, 
  qq{whisker: spread over the alternating pairs; tick: target</text>\n};
for my $g (0.01, 0.03, 0.1, 0.3, 1, 3, 10) {
  my $gx = $x->($g);
  print $o qq{<line x1="$gx" y1="$top" x2="$gx" y2="}, $H - 30, qq{" stroke="}, ($g == 1 ? '#000' : '#ddd'), qq{"/>\n},
    qq{<text x="$gx" y="}, $H - 15, qq{" text-anchor="middle">${g}x</text>\n};
}
my $y = $top;
for my $b (@bars) {
  my ($name, $r, $plo, $phi, $op, $t, $met) = @$b;
  my ($x1, $xr) = ($x->(1), $x->($r));
  my ($bx, $bw) = $xr < $x1 ? ($xr, $x1 - $xr) : ($x1, $xr - $x1);
  my $col = !defined $met ? '#999' : $met ? '#3a3' : '#d33';
  my $cy = $y + $rowh / 2;
  print $o qq{<text x="10" y="}, $cy + 4, qq{">}, $esc->($name), qq{</text>\n},
    sprintf(qq{<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="$col"/>\n}, $bx, $y + 5, $bw < 1 ? 1 : $bw, $rowh - 10),
    sprintf(qq{<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#000"/>\n}, $x->($plo), $cy, $x->($phi), $cy),
    sprintf(qq{<text x="%.1f" y="%.1f" font-size="10">%.2fx</text>\n}, ($xr > $x1 ? $xr : $x1) + 4, $cy - 4, $r);
  printf $o qq{<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#000" stroke-width="3"/>\n},
    $x->($t), $y + 2, $x->($t), $y + $rowh - 2 if defined $op;
  $y += $rowh;
}
print $o "</svg>\n";
close $o;
