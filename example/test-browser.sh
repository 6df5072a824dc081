#!/usr/bin/env bash
# Runs the example's headless-browser test of /demo: the page as a viewer
# sees it, then every button pressed in turn as an admin (the +6 min clock
# and the cookie refresh, the M2M panel, the cross-site replays, logout).
# Installs Debian's chromium package first when /usr/bin/chromium is missing
# and apt-get can be used (root, or passwordless sudo); otherwise the Go test
# skips with a message saying so.
#
# DEMO_SCREENSHOT=/path/demo.png example/test-browser.sh also saves a
# screenshot of the admin's page after those steps.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null 2>&1; then
	SUDO=""
	if [ "$(id -u)" -ne 0 ]; then
		if sudo -n true 2>/dev/null; then SUDO="sudo -n"; fi
	fi
	if [ "$(id -u)" -eq 0 ] || [ -n "$SUDO" ]; then
		echo "== installing chromium"
		$SUDO apt-get update -qq || true
		DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium ||
			echo "chromium could not be installed; the browser test will skip"
	else
		echo "chromium missing and apt-get needs root; the browser test will skip"
	fi
fi

go test -race -count=1 -run 'TestDemoInChromium' -v ./example
