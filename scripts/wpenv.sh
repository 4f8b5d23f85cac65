#!/usr/bin/env bash
# wpenv.sh: a real WordPress + MariaDB on this machine, for wp-sentinel's end-to-end
# tests and the demo. Debian 12 packages only, no Docker, no systemd, no internet.
# Everything lives under one state directory; processes are started and stopped by
# PID file, never by name. See usage() and docs/real-wordpress.md.
set -euo pipefail

usage() {
	cat <<'EOF'
usage: scripts/wpenv.sh COMMAND

  up                  install + db-up + wp-up, then write <state>/env
  install             install the packages (scripts/install-deps.sh; quick if present)
  db-up               make sure a MariaDB answers; create the databases and the user
  wp-up               WordPress docroot + wp-config.php + PHP server + WP install
  php-stop            stop the web server (the "WordPress container": Apache or php -S)
  php-start [--reset-config]
                      start it again; --reset-config first copies the template back
                      to wp-config.php (a fresh container layer); without it the
                      docroot is kept as is (a shared volume)
  db-stop, db-start   stop / start the own MariaDB only (WPENV_DB_MODE=own): a
                      database outage; the machine's MariaDB is never touched
  status              what is running (exit 0 when WordPress answers 200 on /)
  down                stop PHP and our own MariaDB (never the machine's)
  clean               down, drop what wpenv created in the machine's MariaDB,
                      remove the state directory

environment (defaults in brackets; remembered in <state>/config after the first use):
  WPENV_DIR           state directory [<repo>/target/wpenv]
  WPENV_PORT          web server port on 127.0.0.1 [8080]
  WPENV_SERVER        apache | php [apache]: Apache 2.4 prefork + mod_php as the
                      official wordpress:*-apache image runs it (started as root,
                      workers as www-data, .htaccess honoured), or php -S
  WPENV_PHP_WORKERS   Apache: MaxRequestWorkers; php -S: PHP_CLI_SERVER_WORKERS
                      (1 = single process) [4]
  WPENV_DB_NAME       database [wordpress]; a second one, <name>_other, is created too
  WPENV_DB_USER       database user [wpuser]
  WPENV_DB_MODE       auto | machine | own [auto]: own = a private mariadbd
  WPENV_OWN_DB_PORT   port of the private mariadbd [3307]
  WPENV_OWN_DB_SSL_CERT, WPENV_OWN_DB_SSL_KEY
                      db-up/db-start of the private mariadbd only: serve TLS with
                      this certificate and key (not remembered)
EOF
}

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$SCRIPT_DIR/.." && pwd)
TEMPLATE_SRC=$SCRIPT_DIR/wpenv/wp-config-docker.php

STATE=${WPENV_DIR:-$REPO_DIR/target/wpenv}
[[ $STATE == /* ]] || STATE=$PWD/$STATE
STATE=${STATE%/}

PACKAGES=(mariadb-server mariadb-client php-cli php-mysql wordpress
	wordpress-theme-twentytwentythree php php8.2-cgi micro-httpd netcat-traditional curl
	apache2 libapache2-mod-php8.2)

PRISTINE=$STATE/pristine
TEMPLATE=$STATE/wp-config-template.php
PHP_PID=$STATE/php.pid
PHP_LOG=$STATE/php.log
APACHE_DIR=$STATE/apache
APACHE_CONF=$APACHE_DIR/apache2.conf
APACHE_ERROR_LOG=$APACHE_DIR/error.log
APACHE_BIN=/usr/sbin/apache2
APACHE_MODULES=/usr/lib/apache2/modules
# A test-only page that holds an Apache worker for ?s= seconds (at most 120): the
# e2e wedge scenario fills every worker with it.
SLOW_PAGE=wpenv-slow.php
ENV_FILE=$STATE/env
CONFIG_FILE=$STATE/config
DB_FILE=$STATE/db
DB_PW_FILE=$STATE/db-password
ADMIN_PW_FILE=$STATE/admin-password
CREATED_FILE=$STATE/db-created
OWN_DIR=$STATE/mysql
OWN_CNF=$OWN_DIR/my.cnf
OWN_DATA=$OWN_DIR/data
OWN_SOCK=$OWN_DIR/mariadbd.sock
OWN_PID=$OWN_DIR/mariadbd.pid
OWN_LOG=$OWN_DIR/mariadbd.err
MARIADBD=/usr/sbin/mariadbd
MACHINE_PORT=3306
ADMIN_USER="admin"
TABLE_PREFIX=wp_
CLEAN_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

say() { printf 'wpenv: %s\n' "$*"; }
warn() { printf 'wpenv: warning: %s\n' "$*" >&2; }
die() { printf 'wpenv: error: %s\n' "$*" >&2; exit 1; }

need_root() { [[ $EUID -eq 0 ]] || die "must run as root (apt, chown, runuser, mariadbd)"; }

# ---------------------------------------------------------------- small helpers

# kv_get FILE KEY: the value of KEY=VALUE in FILE, empty if absent.
kv_get() {
	[[ -f $1 ]] || return 0
	sed -n "s/^$2=//p" "$1" | tail -n 1
}

# write_file_atomic FILE MODE: stdin to FILE via a temporary file.
write_file_atomic() {
	local tmp
	tmp=$(mktemp "$1.XXXXXX")
	cat >"$tmp"
	chmod "$2" "$tmp"
	mv -f "$tmp" "$1"
}

# secret FILE: the secret stored in FILE, generated (32 hex chars, mode 600) if absent.
secret() {
	if [[ ! -s $1 ]]; then
		od -An -tx1 -N16 /dev/urandom | tr -d ' \n' | write_file_atomic "$1" 600
	fi
	cat "$1"
}

# pid_from FILE EXE: print the PID in FILE if that process is alive and runs EXE.
pid_from() {
	local pid exe
	[[ -f $1 ]] || return 1
	pid=$(tr -dc '0-9' <"$1")
	[[ -n $pid ]] || return 1
	exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 1
	[[ ${exe% (deleted)} == "$2" ]] || return 1
	printf '%s\n' "$pid"
}

# tcp_open PORT: something accepts connections on 127.0.0.1:PORT.
tcp_open() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

# alive PID: the process exists and is not a zombie (PID 1 here may reap late).
alive() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	[[ ${stat%% *} != Z ]]
}

# stop_pid PID WHAT [group]: SIGTERM, wait, SIGKILL after 15 s. With "group", the whole
# process group when PID runs in a session of its own (php -S with workers: SIGTERM to
# the master alone leaves the workers serving the port).
stop_pid() {
	local pid=$1 what=$2 target=$1 pgid sid i
	if [[ ${3:-} == group ]]; then
		read -r pgid sid < <(ps -o pgid=,sid= -p "$pid" 2>/dev/null) || true
		if [[ -n ${pgid:-} && $pgid == "${sid:-}" && $sid != "$(ps -o sid= -p $$ | tr -d ' ')" ]]; then
			target=-$pgid
		fi
	fi
	kill -TERM -- "$target" 2>/dev/null || true
	for ((i = 0; i < 150; i++)); do
		if ! alive "$pid" && { [[ $target != -* ]] || ! group_alive "${target#-}"; }; then
			return 0
		fi
		sleep 0.1
	done
	warn "$what (pid $pid) ignored SIGTERM for 15 s: SIGKILL"
	kill -KILL -- "$target" 2>/dev/null || true
	sleep 0.2
}

# group_alive PGID: some non-zombie process is still in that process group.
group_alive() {
	local p
	for p in $(ps -o pid= -g "$1" 2>/dev/null); do
		alive "$p" && return 0
	done
	return 1
}

# http_probe PATH: "<status> <seconds>" of GET URL/PATH (status 000: no answer).
http_probe() {
	curl -s -o /dev/null --max-time "${2:-10}" -w '%{http_code} %{time_total}' "$URL$1" || true
}

lock() {
	mkdir -p "$(dirname "$STATE")"
	exec 9>"$STATE.lock"
	flock -w 900 9 || die "another wpenv.sh is running on $STATE (lock $STATE.lock)"
}

# ---------------------------------------------------------------- configuration

load_config() {
	PORT=${WPENV_PORT:-$(kv_get "$CONFIG_FILE" WPENV_PORT)}
	PORT=${PORT:-8080}
	WORKERS=${WPENV_PHP_WORKERS:-$(kv_get "$CONFIG_FILE" WPENV_PHP_WORKERS)}
	WORKERS=${WORKERS:-4}
	DB_NAME=${WPENV_DB_NAME:-$(kv_get "$CONFIG_FILE" WPENV_DB_NAME)}
	DB_NAME=${DB_NAME:-wordpress}
	DB_USER=${WPENV_DB_USER:-$(kv_get "$CONFIG_FILE" WPENV_DB_USER)}
	DB_USER=${DB_USER:-wpuser}
	DB_MODE_WANTED=${WPENV_DB_MODE:-$(kv_get "$CONFIG_FILE" WPENV_DB_MODE)}
	DB_MODE_WANTED=${DB_MODE_WANTED:-auto}
	OWN_PORT=${WPENV_OWN_DB_PORT:-$(kv_get "$CONFIG_FILE" WPENV_OWN_DB_PORT)}
	OWN_PORT=${OWN_PORT:-3307}
	SERVER=${WPENV_SERVER:-$(kv_get "$CONFIG_FILE" WPENV_SERVER)}
	SERVER=${SERVER:-apache}
	DB_OTHER=${DB_NAME}_other
	URL=http://127.0.0.1:$PORT

	[[ $PORT =~ ^[0-9]+$ ]] || die "WPENV_PORT must be a number: $PORT"
	[[ $OWN_PORT =~ ^[0-9]+$ ]] || die "WPENV_OWN_DB_PORT must be a number: $OWN_PORT"
	[[ $WORKERS =~ ^[0-9]+$ ]] || die "WPENV_PHP_WORKERS must be a number: $WORKERS"
	[[ $DB_NAME =~ ^[A-Za-z0-9_]+$ ]] || die "WPENV_DB_NAME: letters, digits and _ only: $DB_NAME"
	[[ $DB_USER =~ ^[A-Za-z0-9_]+$ ]] || die "WPENV_DB_USER: letters, digits and _ only: $DB_USER"
	[[ $DB_MODE_WANTED =~ ^(auto|machine|own)$ ]] || die "WPENV_DB_MODE: auto, machine or own: $DB_MODE_WANTED"
	[[ $SERVER =~ ^(apache|php)$ ]] || die "WPENV_SERVER: apache or php: $SERVER"
	[[ $STATE =~ ^[A-Za-z0-9_./+-]+$ ]] || die "state directory path must not need shell quoting: $STATE"

	# The database actually in use (written by db-up).
	DB_MODE=$(kv_get "$DB_FILE" DB_MODE)
	DB_PORT=$(kv_get "$DB_FILE" DB_PORT)

	# What the web server's workers (www-data) read goes where they can: the state
	# directory, unless a parent of it is closed to them (a checkout under /root).
	WWW_DIR=$(kv_get "$CONFIG_FILE" WPENV_WWW_DIR)
	if [[ -z $WWW_DIR ]]; then
		WWW_DIR=$STATE
		if ((EUID == 0)) && ! www_data_can_enter "$STATE"; then
			WWW_DIR=/var/lib/wpenv/$(printf '%s' "$STATE" | cksum | cut -d' ' -f1)
		fi
	fi
	DOCROOT=$WWW_DIR/docroot
	WP_CONFIG=$DOCROOT/wp-config.php
}

# www_data_can_enter DIR: www-data can reach DIR (or its closest existing ancestor).
www_data_can_enter() {
	local dir=$1
	while [[ ! -d $dir ]]; do dir=$(dirname "$dir"); done
	runuser -u www-data -- test -x "$dir" 2>/dev/null
}

save_config() {
	mkdir -p "$STATE"
	write_file_atomic "$CONFIG_FILE" 644 <<EOF
WPENV_PORT=$PORT
WPENV_PHP_WORKERS=$WORKERS
WPENV_DB_NAME=$DB_NAME
WPENV_DB_USER=$DB_USER
WPENV_DB_MODE=$DB_MODE_WANTED
WPENV_OWN_DB_PORT=$OWN_PORT
WPENV_SERVER=$SERVER
WPENV_WWW_DIR=$WWW_DIR
EOF
}

# ---------------------------------------------------------------- install

# cmd_install: the missing packages, through scripts/install-deps.sh (quick and
# without root when all are present); no daemon may start during the install.
cmd_install() {
	if [[ $EUID -eq 0 ]]; then mkdir -p "$STATE"; fi
	"$REPO_DIR/scripts/install-deps.sh" --no-daemons --log "$STATE/apt.log" "${PACKAGES[@]}" ||
		die "install failed"
}

# ---------------------------------------------------------------- MariaDB

MACHINE_ARGS=()

# machine_db_ok: the machine's MariaDB on 127.0.0.1:3306 answers root, over its unix
# socket (preferred) or TCP. Sets MACHINE_ARGS.
machine_db_ok() {
	local port
	tcp_open "$MACHINE_PORT" || return 1
	port=$(mariadb -uroot --connect-timeout=3 -Nse 'SELECT @@port' 2>/dev/null) || port=""
	if [[ $port == "$MACHINE_PORT" ]]; then
		MACHINE_ARGS=()
		return 0
	fi
	if mariadb -uroot --protocol=TCP -h127.0.0.1 -P"$MACHINE_PORT" --connect-timeout=3 \
		-Nse 'SELECT 1' >/dev/null 2>&1; then
		MACHINE_ARGS=(--protocol=TCP -h127.0.0.1 -P"$MACHINE_PORT")
		return 0
	fi
	return 1
}

own_db_ok() {
	mariadb -uroot --socket="$OWN_SOCK" --connect-timeout=3 -Nse 'SELECT 1' >/dev/null 2>&1
}

# db_root ARGS...: the mariadb client as root on the database in use.
db_root() {
	case $DB_MODE in
	machine)
		mariadb -uroot --connect-timeout=5 "${MACHINE_ARGS[@]}" "$@"
		;;
	own) mariadb -uroot --connect-timeout=5 --socket="$OWN_SOCK" "$@" ;;
	*) die "no database selected (run db-up)" ;;
	esac
}

start_machine_db() {
	local i
	say "db-up: 127.0.0.1:$MACHINE_PORT does not answer; starting the machine's MariaDB"
	install -d -o mysql -g mysql /run/mysqld
	start-stop-daemon --start --oknodo --background --exec "$MARIADBD" 9>&- >/dev/null 2>&1 || return 1
	for ((i = 0; i < 300; i++)); do
		machine_db_ok && return 0
		# give up early when no mariadbd runs at all any more
		if ((i > 20)) && ! start-stop-daemon --status --exec "$MARIADBD" >/dev/null 2>&1; then
			return 1
		fi
		sleep 0.1
	done
	return 1
}

start_own_db() {
	local i pid
	if pid=$(pid_from "$OWN_PID" "$MARIADBD") && own_db_ok; then
		return 0
	fi
	if tcp_open "$OWN_PORT"; then
		die "own MariaDB: port $OWN_PORT is taken by another process (set WPENV_OWN_DB_PORT)"
	fi
	install -d -m 755 -o mysql -g mysql "$OWN_DIR"
	# WPENV_OWN_DB_SSL_CERT and _KEY (for this start only): TLS on the own MariaDB.
	local OWN_TLS=""
	if [[ -n ${WPENV_OWN_DB_SSL_CERT:-} && -n ${WPENV_OWN_DB_SSL_KEY:-} ]]; then
		OWN_TLS=$(printf 'ssl_cert = %s\nssl_key = %s' "$WPENV_OWN_DB_SSL_CERT" "$WPENV_OWN_DB_SSL_KEY")
	fi
	write_file_atomic "$OWN_CNF" 644 <<EOF
# wpenv.sh: a private MariaDB for wp-sentinel's tests
[mysqld]
user = mysql
datadir = $OWN_DATA
socket = $OWN_SOCK
pid-file = $OWN_PID
log-error = $OWN_LOG
port = $OWN_PORT
bind-address = 127.0.0.1
skip-name-resolve
innodb_buffer_pool_size = 64M
${OWN_TLS}
EOF
	if ! runuser -u mysql -- test -w "$OWN_DIR"; then
		die "own MariaDB: user mysql cannot write $OWN_DIR (a parent directory is not searchable?)"
	fi
	if [[ ! -d $OWN_DATA/mysql ]]; then
		say "db-up: initialising own MariaDB in $OWN_DATA"
		rm -rf "$OWN_DATA"
		mariadb-install-db --defaults-file="$OWN_CNF" --user=mysql --skip-test-db \
			--auth-root-authentication-method=socket >"$OWN_DIR/install-db.log" 2>&1 ||
			{ tail -n 20 "$OWN_DIR/install-db.log" >&2; die "mariadb-install-db failed"; }
	fi
	say "db-up: starting own MariaDB on 127.0.0.1:$OWN_PORT"
	rm -f "$OWN_PID"
	start-stop-daemon --start --background --pidfile "$OWN_PID" --exec "$MARIADBD" \
		-- --defaults-file="$OWN_CNF" 9>&- >/dev/null 2>&1 ||
		die "own MariaDB: start-stop-daemon failed"
	for ((i = 0; i < 300; i++)); do
		if own_db_ok && pid_from "$OWN_PID" "$MARIADBD" >/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	[[ -f $OWN_LOG ]] && tail -n 20 "$OWN_LOG" >&2
	die "own MariaDB did not come up in 30 s (log: $OWN_LOG)"
}

stop_own_db() {
	local pid
	if pid=$(pid_from "$OWN_PID" "$MARIADBD"); then
		stop_pid "$pid" "own MariaDB"
		say "own MariaDB stopped"
	fi
}

# remember_created KIND NAME: note that wpenv created it (clean drops only those).
remember_created() {
	printf '%s %s\n' "$1" "$2" >>"$CREATED_FILE"
}

cmd_db_up() {
	need_root
	mkdir -p "$STATE"
	DB_MODE=""
	case $DB_MODE_WANTED in
	own)
		start_own_db
		DB_MODE=own
		;;
	machine)
		if machine_db_ok || start_machine_db; then
			DB_MODE=machine
		else
			die "the machine's MariaDB does not answer on 127.0.0.1:$MACHINE_PORT and would not start"
		fi
		;;
	auto)
		if pid_from "$OWN_PID" "$MARIADBD" >/dev/null && own_db_ok; then
			DB_MODE=own # started earlier: keep using it
		elif machine_db_ok; then
			DB_MODE=machine
		elif start_machine_db; then
			DB_MODE=machine
		else
			warn "the machine's MariaDB would not start; using an own instance"
			start_own_db
			DB_MODE=own
		fi
		;;
	esac
	if [[ $DB_MODE == own ]]; then DB_PORT=$OWN_PORT; else DB_PORT=$MACHINE_PORT; fi
	write_file_atomic "$DB_FILE" 644 <<EOF
DB_MODE=$DB_MODE
DB_PORT=$DB_PORT
EOF

	local pw db exists host sql=""
	pw=$(secret "$DB_PW_FILE")
	for db in "$DB_NAME" "$DB_OTHER"; do
		exists=$(db_root -Nse "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME='$db'")
		if [[ $exists == 0 ]]; then
			db_root -e "CREATE DATABASE \`$db\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
			if [[ $DB_MODE == machine ]]; then remember_created database "$db"; fi
		fi
	done
	for host in 127.0.0.1 localhost; do
		exists=$(db_root -Nse "SELECT COUNT(*) FROM mysql.user WHERE User='$DB_USER' AND Host='$host'")
		if [[ $exists == 0 ]]; then
			sql+="CREATE USER '$DB_USER'@'$host' IDENTIFIED BY '$pw';"
			if [[ $DB_MODE == machine ]]; then remember_created user "'$DB_USER'@'$host'"; fi
		else
			sql+="ALTER USER '$DB_USER'@'$host' IDENTIFIED BY '$pw';"
		fi
		sql+="GRANT ALL PRIVILEGES ON \`$DB_NAME\`.* TO '$DB_USER'@'$host';"
		sql+="GRANT ALL PRIVILEGES ON \`$DB_OTHER\`.* TO '$DB_USER'@'$host';"
	done
	db_root <<<"$sql" # on stdin: the password stays out of ps
	# The user must get in over TCP exactly as WordPress will.
	MYSQL_PWD=$pw mariadb --protocol=TCP -h127.0.0.1 -P"$DB_PORT" -u"$DB_USER" --connect-timeout=5 \
		-Nse "SELECT 1 FROM DUAL" "$DB_NAME" >/dev/null ||
		die "user $DB_USER cannot log in over TCP to 127.0.0.1:$DB_PORT/$DB_NAME"
	say "db-up: $DB_MODE MariaDB on 127.0.0.1:$DB_PORT, databases $DB_NAME and $DB_OTHER, user $DB_USER"
}

need_db() {
	[[ -n $DB_MODE ]] || die "no database set up yet (run db-up or up)"
	if [[ $DB_MODE == machine ]]; then
		machine_db_ok || die "the machine's MariaDB does not answer (run db-up)"
	fi
}

# ---------------------------------------------------------------- WordPress / PHP

# PHP_BIN: the executable of "the WordPress container" (apache2, or php for php -S).
PHP_BIN=""
find_php() {
	if [[ $SERVER == apache ]]; then
		PHP_BIN=$APACHE_BIN
		[[ -x $PHP_BIN && -f $APACHE_MODULES/libphp8.2.so ]] ||
			die "apache2 or libapache2-mod-php8.2 not installed (run install)"
		return 0
	fi
	PHP_BIN=$(readlink -f "$(command -v php || true)" 2>/dev/null || true)
	[[ -x $PHP_BIN ]] || die "php not installed (run install)"
}

# write_apache_conf: a self-contained configuration for this state directory (its own
# port, PID file, logs), shaped like the official wordpress:*-apache image's: prefork,
# mod_php, mod_rewrite with the docroot's .htaccess, started as root with workers as
# www-data. The request log has php -S's line shape, so the tests read either.
write_apache_conf() {
	local servers=$((WORKERS < 2 ? WORKERS : 2))
	((servers >= 1)) || servers=1
	mkdir -p "$APACHE_DIR"
	write_file_atomic "$APACHE_CONF" 644 <<CONF
# written by scripts/wpenv.sh; rewritten at every start
ServerName 127.0.0.1
Listen 127.0.0.1:$PORT
PidFile $APACHE_DIR/apache2.pid
DefaultRuntimeDir $APACHE_DIR
Mutex file:$APACHE_DIR default
User www-data
Group www-data
LoadModule mpm_prefork_module $APACHE_MODULES/mod_mpm_prefork.so
LoadModule authz_core_module $APACHE_MODULES/mod_authz_core.so
LoadModule dir_module $APACHE_MODULES/mod_dir.so
LoadModule mime_module $APACHE_MODULES/mod_mime.so
LoadModule rewrite_module $APACHE_MODULES/mod_rewrite.so
LoadModule setenvif_module $APACHE_MODULES/mod_setenvif.so
LoadModule php_module $APACHE_MODULES/libphp8.2.so
TypesConfig /etc/mime.types
StartServers $servers
MinSpareServers 1
MaxSpareServers $WORKERS
ServerLimit $WORKERS
MaxRequestWorkers $WORKERS
MaxConnectionsPerChild 0
Timeout 300
KeepAlive On
MaxKeepAliveRequests 100
KeepAliveTimeout 5
ErrorLog $APACHE_ERROR_LOG
LogLevel warn
# The path as the client sent it (mod_dir and .htaccess rewrite / to index.php).
SetEnvIf Request_URI "^(.*)\$" WPENV_URI=\$1
SetEnvIf REDIRECT_WPENV_URI "^(.+)\$" WPENV_URI=\$1
LogFormat "[%P] %t %a:%{remote}p [%>s]: %m %{WPENV_URI}e%q" wpenv
CustomLog $PHP_LOG wpenv
DocumentRoot $DOCROOT
<Directory />
	Options FollowSymLinks
	AllowOverride None
	Require all denied
</Directory>
<Directory $DOCROOT>
	Options FollowSymLinks
	AllowOverride All
	Require all granted
</Directory>
DirectoryIndex index.php index.html
<FilesMatch "\.php\$">
	SetHandler application/x-httpd-php
</FilesMatch>
<FilesMatch "^\.ht">
	Require all denied
</FilesMatch>
CONF
}

php_env() {
	local pw
	pw=$(cat "$DB_PW_FILE")
	PHP_ENV=(
		"PATH=$CLEAN_PATH" "LANG=C.UTF-8" "HOME=/var/www"
		"WORDPRESS_DB_HOST=127.0.0.1:$DB_PORT"
		"WORDPRESS_DB_USER=$DB_USER"
		"WORDPRESS_DB_PASSWORD=$pw"
		"WORDPRESS_DB_NAME=$DB_NAME"
		"WORDPRESS_TABLE_PREFIX=$TABLE_PREFIX"
	)
	if ((WORKERS > 1)) && [[ $SERVER == php ]]; then
		PHP_ENV+=("PHP_CLI_SERVER_WORKERS=$WORKERS")
	fi
}

# The tree and the config, like the image's entrypoint: the WordPress files are copied
# once; the template is refreshed from the repository every time.
prepare_docroot() {
	local tmp
	[[ -f /usr/share/wordpress/wp-settings.php ]] || die "/usr/share/wordpress missing (run install)"
	if [[ ! -f $PRISTINE/wp-settings.php ]]; then
		tmp=$STATE/pristine.tmp
		rm -rf "$tmp"
		# -L: Debian's tree holds symlinks (some relative) that break when it moves
		cp -rL /usr/share/wordpress "$tmp"
		rm -f "$tmp/wp-config.php" # Debian's one redirects to /etc/wordpress
		mv "$tmp" "$PRISTINE"
	fi
	if [[ ! -f $DOCROOT/wp-settings.php ]]; then
		mkdir -p "$WWW_DIR"
		chmod 755 "$WWW_DIR"
		tmp=$WWW_DIR/docroot.tmp
		rm -rf "$tmp"
		cp -a "$PRISTINE" "$tmp"
		mv "$tmp" "$DOCROOT"
	fi
	install -m 644 "$TEMPLATE_SRC" "$TEMPLATE"
	# WordPress's own rewrite rules, as it writes them for pretty permalinks.
	cat >"$DOCROOT/.htaccess" <<'HTACCESS'
# BEGIN WordPress
<IfModule mod_rewrite.c>
RewriteEngine On
RewriteRule .* - [E=HTTP_AUTHORIZATION:%{HTTP:Authorization}]
RewriteBase /
RewriteRule ^index\.php$ - [L]
RewriteCond %{REQUEST_FILENAME} !-f
RewriteCond %{REQUEST_FILENAME} !-d
RewriteRule . /index.php [L]
</IfModule>
# END WordPress
HTACCESS
	cat >"$DOCROOT/$SLOW_PAGE" <<'SLOW'
<?php
// wpenv.sh, tests only: holds this worker for ?s= seconds (0-120), then answers.
$seconds = max(0, min(120, (int) ($_GET['s'] ?? 10)));
sleep($seconds);
echo "slept $seconds s\n";
SLOW
	chown -R www-data:www-data "$DOCROOT"
	runuser -u www-data -- test -r "$DOCROOT/wp-settings.php" ||
		die "www-data cannot read $DOCROOT (a parent directory is not searchable?)"
}

# restore_config: wp-config.php := the template (what the official entrypoint writes).
restore_config() {
	install -m 644 -o www-data -g www-data "$TEMPLATE" "$WP_CONFIG"
}

php_start() {
	local pid i code
	find_php
	if pid=$(pid_from "$PHP_PID" "$PHP_BIN"); then
		say "php: already running (pid $pid, $URL)"
		return 0
	fi
	rm -f "$PHP_PID"
	if tcp_open "$PORT"; then
		die "port $PORT is taken by another process (set WPENV_PORT)"
	fi
	[[ -f $DOCROOT/wp-settings.php ]] || die "no docroot yet (run wp-up or up)"
	php_env
	printf '\n=== %s wpenv: %s on 127.0.0.1:%s, workers %s\n' "$(date -Is)" "$SERVER" "$PORT" "$WORKERS" >>"$PHP_LOG"
	chown www-data:www-data "$PHP_LOG"
	# start-stop-daemon: new session (so workers can be stopped as a group), PID file
	# written for the process itself, output appended to the log. Apache starts as
	# root and runs its workers as www-data (as in the image); php -S runs as www-data.
	if [[ $SERVER == apache ]]; then
		write_apache_conf
		env -i "${PHP_ENV[@]}" \
			start-stop-daemon --start --background --make-pidfile --pidfile "$PHP_PID" \
			--chdir "$DOCROOT" --output "$APACHE_DIR/stdout.log" \
			--exec "$PHP_BIN" -- -f "$APACHE_CONF" -DFOREGROUND 9>&- ||
			die "apache: start-stop-daemon failed"
	else
		env -i "${PHP_ENV[@]}" \
			start-stop-daemon --start --background --make-pidfile --pidfile "$PHP_PID" \
			--chuid www-data:www-data --chdir "$DOCROOT" --output "$PHP_LOG" \
			--exec "$PHP_BIN" -- -S "127.0.0.1:$PORT" -t "$DOCROOT" 9>&- ||
			die "php: start-stop-daemon failed"
	fi
	for ((i = 0; i < 200; i++)); do
		code=$(curl -s -o /dev/null --max-time 2 -w '%{http_code}' "$URL/wp-includes/version.php" || true)
		if [[ $code != 000 ]]; then
			say "php: serving $URL (pid $(cat "$PHP_PID"), workers $WORKERS)"
			return 0
		fi
		if ((i > 5)) && ! pid_from "$PHP_PID" "$PHP_BIN" >/dev/null; then
			tail -n 20 "$PHP_LOG" >&2
			[[ $SERVER == php ]] || tail -n 20 "$APACHE_ERROR_LOG" "$APACHE_DIR/stdout.log" >&2 || true
			die "$SERVER server exited (log: $PHP_LOG)"
		fi
		sleep 0.1
	done
	tail -n 20 "$PHP_LOG" >&2
	die "php server did not answer on $URL in 20 s (log: $PHP_LOG)"
}

php_stop() {
	local pid
	find_php
	if pid=$(pid_from "$PHP_PID" "$PHP_BIN"); then
		stop_pid "$pid" "php server" group
		say "php: stopped"
	else
		say "php: not running"
	fi
	rm -f "$PHP_PID"
}

wp_siteurl() {
	db_root -Nse "SELECT option_value FROM \`$DB_NAME\`.\`${TABLE_PREFIX}options\` WHERE option_name='siteurl'" 2>/dev/null || true
}

wp_install() {
	local siteurl apw new_apw=0 out code
	[[ -s $ADMIN_PW_FILE ]] || new_apw=1
	apw=$(secret "$ADMIN_PW_FILE")
	siteurl=$(wp_siteurl)
	if [[ -n $siteurl ]]; then
		if [[ $siteurl != "$URL" ]]; then
			db_root "$DB_NAME" -e "UPDATE \`${TABLE_PREFIX}options\` SET option_value='$URL' WHERE option_name IN ('siteurl','home')"
			say "wp-up: siteurl was $siteurl, now $URL"
		fi
		if ((new_apw)); then # installed by an earlier state directory: take it over
			db_root "$DB_NAME" <<<"UPDATE \`${TABLE_PREFIX}users\` SET user_pass=MD5('$apw') WHERE user_login='$ADMIN_USER'"
		fi
		say "wp-up: WordPress already installed"
		return 0
	fi
	say "wp-up: installing WordPress (POST /wp-admin/install.php?step=2)"
	out=$STATE/install-response.html
	code=$(curl -sS --max-time 300 -o "$out" -w '%{http_code}' \
		--data-urlencode "weblog_title=wp-sentinel test site" \
		--data-urlencode "user_name=$ADMIN_USER" \
		--data-urlencode "admin_password=$apw" \
		--data-urlencode "admin_password2=$apw" \
		--data-urlencode "pw_weak=1" \
		--data-urlencode "admin_email=wpenv@example.com" \
		--data-urlencode "blog_public=0" \
		"$URL/wp-admin/install.php?step=2") || code=000
	if [[ $code != 200 ]] || ! grep -q 'Success!' "$out"; then
		die "WordPress install failed: HTTP $code (answer: $out, log: $PHP_LOG)"
	fi
}

cmd_wp_up() {
	local r i
	need_root
	need_db
	[[ -s $DB_PW_FILE ]] || die "no database password yet (run db-up)"
	prepare_docroot
	if [[ ! -s $WP_CONFIG ]]; then
		restore_config
	elif ! cmp -s "$TEMPLATE" "$WP_CONFIG"; then
		restore_config
		say "wp-up: wp-config.php differed from the template: restored"
	fi
	php_start
	wp_install
	# A wp-config.php just rewritten under a running server may take up to ~3 s to be
	# seen (opcache revalidates every 2 s): poll rather than read a stale answer.
	for ((i = 0; i < 50; i++)); do
		r=$(http_probe / 30)
		[[ ${r%% *} == 200 ]] && break
		sleep 0.2
	done
	[[ ${r%% *} == 200 ]] || die "GET $URL/ answers ${r%% *}, not 200 (log: $PHP_LOG)"
	say "wp-up: GET / 200 in ${r#* } s"
}

write_env() {
	local pw
	pw=$(cat "$DB_PW_FILE")
	{
		echo "# written by scripts/wpenv.sh up; KEY=VALUE, shell-sourceable, values never quoted"
		echo "WPENV_DIR=$STATE"
		echo "WPENV_PORT=$PORT"
		echo "WPENV_URL=$URL"
		echo "WPENV_DOCROOT=$DOCROOT"
		echo "WPENV_WP_CONFIG=$WP_CONFIG"
		echo "WPENV_WP_CONFIG_TEMPLATE=$TEMPLATE"
		echo "WPENV_PHP_PID_FILE=$PHP_PID"
		echo "WPENV_PHP_LOG=$PHP_LOG"
		echo "WPENV_PHP_WORKERS=$WORKERS"
		echo "WPENV_SERVER=$SERVER"
		echo "WPENV_SLOW_PAGE=/$SLOW_PAGE"
		echo "WPENV_DB_MODE=$DB_MODE"
		echo "WPENV_DB_PORT=$DB_PORT"
		echo "WPENV_DB_OTHER_NAME=$DB_OTHER"
		echo "WPENV_ADMIN_USER=$ADMIN_USER"
		echo "WPENV_ADMIN_PASSWORD=$(cat "$ADMIN_PW_FILE")"
		echo "WORDPRESS_DB_HOST=127.0.0.1:$DB_PORT"
		echo "WORDPRESS_DB_USER=$DB_USER"
		echo "WORDPRESS_DB_PASSWORD=$pw"
		echo "WORDPRESS_DB_NAME=$DB_NAME"
		echo "WORDPRESS_TABLE_PREFIX=$TABLE_PREFIX"
		if [[ $DB_MODE == own ]]; then
			echo "MYSQL_OWN_PID_FILE=$OWN_PID"
			echo "MYSQL_OWN_CNF=$OWN_CNF"
			echo "MYSQL_OWN_SOCKET=$OWN_SOCK"
		fi
	} | write_file_atomic "$ENV_FILE" 600
}

# ---------------------------------------------------------------- commands

cmd_up() {
	cmd_install
	cmd_db_up
	cmd_wp_up
	write_env
	say "up: ready, $URL (env: $ENV_FILE)"
}

cmd_php_start() {
	local reset=0
	while (($#)); do
		case $1 in
		--reset-config) reset=1 ;;
		*) die "php-start: unknown option $1" ;;
		esac
		shift
	done
	need_root
	[[ -n $DB_PORT ]] || die "no database set up yet (run up)"
	if ((reset)); then
		[[ -f $TEMPLATE ]] || die "no template yet (run up)"
		restore_config
		say "php: wp-config.php reset from the template"
	fi
	php_start
}

cmd_status() {
	local pid r rc=0
	find_php
	say "state: $STATE"
	case $DB_MODE in
	machine)
		if machine_db_ok; then say "db: machine MariaDB on 127.0.0.1:$DB_PORT, up"; else say "db: machine MariaDB on 127.0.0.1:$DB_PORT, DOWN"; rc=3; fi
		;;
	own)
		if pid=$(pid_from "$OWN_PID" "$MARIADBD") && own_db_ok; then
			say "db: own MariaDB on 127.0.0.1:$DB_PORT, up (pid $pid)"
		else
			say "db: own MariaDB on 127.0.0.1:$DB_PORT, DOWN"
			rc=3
		fi
		;;
	*) say "db: not set up"; rc=3 ;;
	esac
	if pid=$(pid_from "$PHP_PID" "$PHP_BIN"); then
		r=$(http_probe / 10)
		say "php: pid $pid, $URL, GET / ${r%% *} in ${r#* } s"
		[[ ${r%% *} == 200 ]] || rc=3
	else
		say "php: not running"
		rc=3
	fi
	return "$rc"
}

cmd_db_stop() {
	[[ $DB_MODE == own ]] || die "db-stop works on an own MariaDB only (this state uses: ${DB_MODE:-none}); the machine's is left alone"
	if pid_from "$OWN_PID" "$MARIADBD" >/dev/null; then
		stop_own_db
	else
		say "own MariaDB: not running"
	fi
}

cmd_db_start() {
	[[ $DB_MODE == own ]] || die "db-start works on an own MariaDB only (this state uses: ${DB_MODE:-none})"
	need_root
	start_own_db
	say "own MariaDB: up on 127.0.0.1:$DB_PORT"
}

cmd_down() {
	php_stop
	stop_own_db
}

cmd_clean() {
	local kind name sql=""
	if [[ ! -d $STATE ]]; then
		say "clean: nothing at $STATE"
		return 0
	fi
	cmd_down
	if [[ -s $CREATED_FILE ]]; then
		if machine_db_ok; then
			DB_MODE=machine
			while read -r kind name; do
				case $kind in
				database) sql+="DROP DATABASE IF EXISTS \`$name\`;" ;;
				user) sql+="DROP USER IF EXISTS $name;" ;;
				esac
			done <"$CREATED_FILE"
			db_root -e "$sql"
			say "clean: dropped from the machine's MariaDB what wpenv created"
		else
			warn "machine's MariaDB down: left its databases/users (see $CREATED_FILE)"
		fi
	fi
	if [[ $WWW_DIR != "$STATE" && $WWW_DIR == /var/lib/wpenv/* ]]; then
		rm -rf "$WWW_DIR"
	fi
	rm -rf "$STATE"
	say "clean: removed $STATE"
}

main() {
	local cmd=${1:-}
	if (($#)); then shift; fi
	case $cmd in
	"" | -h | --help | help) usage; return 0 ;;
	up | install | db-up | wp-up | php-stop | php-start | db-stop | db-start | status | down | clean) ;;
	*) usage >&2; die "unknown command: $cmd" ;;
	esac
	[[ $cmd == php-start ]] || (($# == 0)) || die "$cmd takes no arguments"
	load_config
	[[ $cmd == status ]] || lock
	case $cmd in
	up | install | db-up | wp-up) save_config ;;
	esac
	case $cmd in
	up) cmd_up ;;
	install) cmd_install ;;
	db-up) cmd_db_up ;;
	wp-up) cmd_wp_up ;;
	php-stop) php_stop ;;
	php-start) cmd_php_start "$@" ;;
	db-stop) cmd_db_stop ;;
	db-start) cmd_db_start ;;
	status) cmd_status ;;
	down) cmd_down ;;
	clean) cmd_clean ;;
	esac
}

main "$@"
