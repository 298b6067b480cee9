# CentOS 7.9 x86_64, unattended text install over HTTP.
# The equivalent of the classic stack's boot.ipxe + anaconda-ks.cfg (nginx serving /pxe/http): mount
# CentOS-7-x86_64-Everything-2009.iso at <http.assets>/centos7.9 and nothing needs copying, the kernel and initrd
# are served straight from the ISO's images/pxeboot/.
description = CentOS 7.9 (2009) x86_64, text install, LVM + XFS, phones home

# Paths under http.assets (served at /assets/...), or absolute http(s) URLs.
kernel = centos7.9/images/pxeboot/vmlinuz
initrd = centos7.9/images/pxeboot/initrd.img
# Appended to the kernel command line (the boot script adds initrd=, inst.repo= and ks=).
kernel-args = ip=dhcp

# The installation tree: the mounted ISO under http.assets (or e.g. http://mirror.example/centos/7.9.2009/os/x86_64).
repo-url = centos7.9

# Kickstart template in this directory.
kickstart = centos7.ks

# CHANGE THIS before installing anything real: this is the hash of "changeme".
# Make one with:  openssl passwd -6     (or: python3 -c 'import crypt,getpass; print(crypt.crypt(getpass.getpass()))')
root-password-hash = $6$provisionerdemo$SltaDPnUs5OBHC4YunuFJP6L1BAxfgpF3.11Th3qmcmpvyNwUlGfsR3V4.xJh0O40r.dgbiyqD7AtwDTokSMv1

# /boot plus / on XFS in LVM volume group "centos", as the stock CentOS 7 install lays it out, on BIOS and UEFI.
disk-layout = lvm-xfs

timezone = Asia/Shanghai
lang = zh_CN.UTF-8
keyboard = cn
