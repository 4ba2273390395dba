#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# ask_for_password() for dracut without systemd: the password comes from plugin-runner
# (Mandos server, console prompt and plymouth plugins at once) and is piped into the
# command dracut wants to run (cryptsetup).  Installed as /lib/mandos/mandos-crypt-lib.sh and
# sourced at the end of /lib/dracut-crypt-lib.sh by cmdline-mandos.sh.
#
# Takes dracut's arguments: --cmd, --prompt, --tries and their --ply-* and --tty-* forms
# (--tty-echo-off and unknown options are ignored).  The plymouth command is preferred, as
# it reads the password from standard input; the device and the LUKS name are the last two
# words of the command, and are passed to the plugins as CRYPTTAB_SOURCE/cryptsource and
# CRYPTTAB_NAME/crypttarget.  The command is tried as many times as the chosen form's tries.

mandos_plugin_runner=${mandos_plugin_runner:-/lib/mandos/plugin-runner}
mandos_plugin_runner_conf=${mandos_plugin_runner_conf:-/etc/mandos/plugin-runner.conf}
mandos_console_lock=${mandos_console_lock:-/.console_lock}

ask_for_password() {
	local ply_cmd="" ply_prompt="" ply_tries=3 tty_cmd="" tty_prompt="" tty_tries=3
	local cmd tries device="" luksname="" word i=0 ret=1

	while [ $# -gt 0 ]; do
		case "$1" in
		--cmd) ply_cmd=$2 tty_cmd=$2 && shift ;;
		--ply-cmd) ply_cmd=$2 && shift ;;
		--tty-cmd) tty_cmd=$2 && shift ;;
		--prompt) ply_prompt=$2 tty_prompt=$2 && shift ;;
		--ply-prompt) ply_prompt=$2 && shift ;;
		--tty-prompt) tty_prompt=$2 && shift ;;
		--tries) ply_tries=$2 tty_tries=$2 && shift ;;
		--ply-tries) ply_tries=$2 && shift ;;
		--tty-tries) tty_tries=$2 && shift ;;
		esac
		shift
	done
	if [ -n "$ply_cmd" ]; then
		cmd=$ply_cmd tries=$ply_tries
	else
		cmd=$tty_cmd tries=$tty_tries
	fi
	[ -n "$cmd" ] || return 1
	case "$tries" in
	'' | *[!0-9]*) tries=1 ;;
	esac

	# The command ends with "DEVICE LUKSNAME" (cryptroot-ask.sh builds it that way).
	for word in $cmd; do
		device=$luksname luksname=$word
	done

	{
		flock -s 9
		while [ "$i" -lt "$tries" ]; do
			i=$((i + 1))
			# $cmd is split into words on purpose, as dracut's own function does.
			CRYPTTAB_SOURCE=$device cryptsource=$device \
				CRYPTTAB_NAME=$luksname crypttarget=$luksname \
				"$mandos_plugin_runner" \
				${tty_prompt:+"--options-for=password-prompt:--prompt=$tty_prompt"} \
				${ply_prompt:+"--options-for=plymouth:--prompt=$ply_prompt"} \
				--config-file="$mandos_plugin_runner_conf" | $cmd
			ret=$?
			[ "$ret" -ne 0 ] || break
		done
	} 9>"$mandos_console_lock"

	[ "$ret" -eq 0 ] || echo "Wrong password" >&2
	return "$ret"
}
