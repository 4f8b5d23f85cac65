<?php
/**
 * The base configuration for WordPress
 *
 * wp-sentinel test environment (scripts/wpenv.sh): this is the official Docker
 * image's wp-config-docker.php (docker-library/wordpress, latest/php8.2/apache) as its
 * docker-entrypoint.sh writes it to wp-config.php, with two differences:
 *   - the salts' fallback values are fixed, non-secret test values (the entrypoint
 *     replaces 'put your unique phrase here' with random strings);
 *   - three defines for a machine without internet (marked "wpenv" below).
 *
 * Settings are read at every request through getenv_docker(): X_FILE, then X, then
 * the default, exactly as in the image.
 *
 * @package WordPress
 */

// a helper function to lookup "env_FILE", "env", then fallback
if (!function_exists('getenv_docker')) {
	// https://github.com/docker-library/wordpress/issues/588 (WP-CLI will load this file 2x)
	function getenv_docker($env, $default) {
		if ($fileEnv = getenv($env . '_FILE')) {
			return rtrim(file_get_contents($fileEnv), "\r\n");
		}
		else if (($val = getenv($env)) !== false) {
			return $val;
		}
		else {
			return $default;
		}
	}
}

// ** Database settings - You can get this info from your web host ** //
/** The name of the database for WordPress */
define( 'DB_NAME', getenv_docker('WORDPRESS_DB_NAME', 'wordpress') );

/** Database username */
define( 'DB_USER', getenv_docker('WORDPRESS_DB_USER', 'example username') );

/** Database password */
define( 'DB_PASSWORD', getenv_docker('WORDPRESS_DB_PASSWORD', 'example password') );

/** Database hostname */
define( 'DB_HOST', getenv_docker('WORDPRESS_DB_HOST', 'mysql') );

/** Database charset to use in creating database tables. */
define( 'DB_CHARSET', getenv_docker('WORDPRESS_DB_CHARSET', 'utf8') );

/** The database collate type. Don't change this if in doubt. */
define( 'DB_COLLATE', getenv_docker('WORDPRESS_DB_COLLATE', '') );

/**#@+
 * Authentication unique keys and salts (fixed test values: NOT secret).
 */
define( 'AUTH_KEY',         getenv_docker('WORDPRESS_AUTH_KEY',         'wpenv-test-auth-key-not-secret') );
define( 'SECURE_AUTH_KEY',  getenv_docker('WORDPRESS_SECURE_AUTH_KEY',  'wpenv-test-secure-auth-key-not-secret') );
define( 'LOGGED_IN_KEY',    getenv_docker('WORDPRESS_LOGGED_IN_KEY',    'wpenv-test-logged-in-key-not-secret') );
define( 'NONCE_KEY',        getenv_docker('WORDPRESS_NONCE_KEY',        'wpenv-test-nonce-key-not-secret') );
define( 'AUTH_SALT',        getenv_docker('WORDPRESS_AUTH_SALT',        'wpenv-test-auth-salt-not-secret') );
define( 'SECURE_AUTH_SALT', getenv_docker('WORDPRESS_SECURE_AUTH_SALT', 'wpenv-test-secure-auth-salt-not-secret') );
define( 'LOGGED_IN_SALT',   getenv_docker('WORDPRESS_LOGGED_IN_SALT',   'wpenv-test-logged-in-salt-not-secret') );
define( 'NONCE_SALT',       getenv_docker('WORDPRESS_NONCE_SALT',       'wpenv-test-nonce-salt-not-secret') );
// (See also https://wordpress.stackexchange.com/a/152905/199287)

/**#@-*/

/**
 * WordPress database table prefix.
 *
 * You can have multiple installations in one database if you give each
 * a unique prefix. Only numbers, letters, and underscores please!
 */
$table_prefix = getenv_docker('WORDPRESS_TABLE_PREFIX', 'wp_');

/**
 * For developers: WordPress debugging mode.
 */
define( 'WP_DEBUG', !!getenv_docker('WORDPRESS_DEBUG', '') );

/* Add any custom values between this line and the "stop editing" line. */

// If we're behind a proxy server and using HTTPS, we need to alert WordPress of that fact
// see also https://wordpress.org/support/article/administration-over-ssl/#using-a-reverse-proxy
if (isset($_SERVER['HTTP_X_FORWARDED_PROTO']) && strpos($_SERVER['HTTP_X_FORWARDED_PROTO'], 'https') !== false) {
	$_SERVER['HTTPS'] = 'on';
}
// (we include this by default because reverse proxying is extremely common in container environments)

if ($configExtra = getenv_docker('WORDPRESS_CONFIG_EXTRA', '')) {
	eval($configExtra);
}

// wpenv: no internet on the test machine, and a small PHP server.
defined( 'WP_HTTP_BLOCK_EXTERNAL' )     || define( 'WP_HTTP_BLOCK_EXTERNAL', true );
defined( 'AUTOMATIC_UPDATER_DISABLED' ) || define( 'AUTOMATIC_UPDATER_DISABLED', true );
defined( 'DISABLE_WP_CRON' )            || define( 'DISABLE_WP_CRON', true );

/* That's all, stop editing! Happy publishing. */

/** Absolute path to the WordPress directory. */
if ( ! defined( 'ABSPATH' ) ) {
	define( 'ABSPATH', __DIR__ . '/' );
}

/** Sets up WordPress vars and included files. */
require_once ABSPATH . 'wp-settings.php';
