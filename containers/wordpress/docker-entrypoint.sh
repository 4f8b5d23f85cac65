#!/bin/sh
# The WordPress container's entrypoint, written for wp-sentinel's pod tests from
# the behaviour of the official image's (not from its script):
#  1. /var/www/html has neither index.php nor wp-includes/version.php (an empty
#     emptyDir, or the image's empty directory in a fresh container layer): copy
#     WordPress from /usr/src/wordpress.
#  2. wp-config.php is missing or empty and at least one WORDPRESS_* variable is
#     set: write it from wp-config-docker.php (salt placeholders replaced by
#     random strings; the template reads every setting with getenv_docker).
#  3. exec Apache in the foreground, as PID 1 (it gets the stop signal itself).
# Any other command line is run as given.
set -eu

if [ "$#" -eq 0 ] || [ "$1" = apache2-foreground ]; then
	cd /var/www/html
	if [ ! -e index.php ] && [ ! -e wp-includes/version.php ]; then
		echo "entrypoint: WordPress not found in $PWD: copying /usr/src/wordpress" >&2
		# tar, not cp -a: the directory itself may be an emptyDir owned by root
		# (group fsGroup): its own owner and mode are left alone.
		tar -C /usr/src/wordpress -c . | tar -x --no-overwrite-dir
	fi
	settings=$(env | grep -c '^WORDPRESS_' || true)
	if [ ! -s wp-config.php ] && [ "$settings" -gt 0 ]; then
		echo "entrypoint: writing wp-config.php from wp-config-docker.php" >&2
		tmp=$(mktemp wp-config.XXXXXX)
		cp /usr/src/wordpress/wp-config-docker.php "$tmp"
		# One random hex string per placeholder (the template has eight).
		for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16; do
			grep -q "put your unique phrase here" "$tmp" || break
			salt=$(head -c 40 /dev/urandom | od -An -tx1 | tr -d ' \n')
			sed -i "0,/put your unique phrase here/s//$salt/" "$tmp"
		done
		chmod 0644 "$tmp"
		mv "$tmp" wp-config.php
	fi
	# Apache's own variables (APACHE_RUN_DIR, APACHE_PID_FILE, APACHE_LOG_DIR …).
	# envvars reads variables that may be unset.
	set +u
	# shellcheck disable=SC1091
	. /etc/apache2/envvars
	exec apache2 -DFOREGROUND
fi
exec "$@"
