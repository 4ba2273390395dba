#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# dracut cmdline hook (without systemd): unless "mandos=off" is on the kernel command line,
# make dracut's crypt library load our ask_for_password(), which runs plugin-runner.
# Installed as /lib/dracut/hooks/cmdline/20-cmdline-mandos.sh; sourced by dracut's init,
# not executed.

if getargbool 1 mandos && [ -e /lib/dracut-crypt-lib.sh ] \
	&& [ -e /lib/mandos/mandos-crypt-lib.sh ] \
	&& ! grep -qF '/lib/mandos/mandos-crypt-lib.sh' /lib/dracut-crypt-lib.sh; then
	# Sourced last, so this definition replaces dracut's own.
	echo '. /lib/mandos/mandos-crypt-lib.sh' >>/lib/dracut-crypt-lib.sh
fi
