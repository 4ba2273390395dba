#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Configure (once) and build the default tree in ./build.  Extra arguments go to meson setup.
set -eu
cd "$(dirname "$0")/.."
if [ ! -f build/build.ninja ]; then
	meson setup build "$@"
fi
meson compile -C build
