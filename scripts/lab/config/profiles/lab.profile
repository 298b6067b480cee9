# The lab installer used by scripts/demo.sh and the qemu lab tests: Debian's kernel and a busybox initrd
# (scripts/lab/build-test-initrd.sh) standing in for anaconda: it takes a lease, fetches its kickstart,
# runs the kickstart's phone-home URL like %post would, and reboots.
description = lab installer (busybox initrd standing in for anaconda)
kernel = lab/vmlinuz
initrd = lab/initrd.img
kernel-args = console=ttyS0 quiet panic=5
repo-url = http://example.invalid/centos/7.9/os/x86_64
kickstart = lab.ks
root-password-hash = $6$lab$C9.3HzYDgSIw0hSVe5l2vOv2RdHcwJpR8HbtGxuhcVZU3xuxDxh5TrCpZuJ.r4o4kR0FqHmZGpH3RCWSL3sGo.
