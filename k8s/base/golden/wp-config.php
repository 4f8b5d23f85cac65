<?php
/**
 * Golden wp-config.php for wp-sentinel's `restore` policy.
 *
 * Mounted twice from the ConfigMap `wordpress-golden-config`:
 *  - into the WordPress container as /usr/src/wordpress/wp-config-docker.php,
 *    the template from which the official image's entrypoint writes
 *    /var/www/html/wp-config.php when it is missing or empty;
 *  - into the wp-sentinel sidecar as /etc/wp-sentinel/golden/wp-config.php,
 *    the copy it writes back (atomically) when the file in use drifts.
 * So the file WordPress starts with and the file a restore writes agree.
 *
 * Every setting is read at each request from the environment (the ConfigMap
 * `wordpress-config` and the Secret `wordpress-db`), exactly as the image's
 * own template does: change settings there, not here. Extra PHP belongs in
 * WORDPRESS_CONFIG_EXTRA. The salts come from the Secret so that every
 * replica signs cookies with the same keys; the entrypoint replaces the
 * placeholder defaults below with random strings, which are never used while
 * the variables are set.
 */

// Look up "NAME_FILE" (a path, for secrets), then "NAME", then the default.
if (!function_exists('getenv_docker')) {
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

// ** Database settings ** //
define( 'DB_NAME', getenv_docker('WORDPRESS_DB_NAME', 'wordpress') );
define( 'DB_USER', getenv_docker('WORDPRESS_DB_USER', 'example username') );
define( 'DB_PASSWORD', getenv_docker('WORDPRESS_DB_PASSWORD', 'example password') );
define( 'DB_HOST', getenv_docker('WORDPRESS_DB_HOST', 'mysql') );
define( 'DB_CHARSET', getenv_docker('WORDPRESS_DB_CHARSET', 'utf8') );
define( 'DB_COLLATE', getenv_docker('WORDPRESS_DB_COLLATE', '') );

// ** Authentication keys and salts ** //
define( 'AUTH_KEY',         getenv_docker('WORDPRESS_AUTH_KEY',         'put your unique phrase here') );
define( 'SECURE_AUTH_KEY',  getenv_docker('WORDPRESS_SECURE_AUTH_KEY',  'put your unique phrase here') );
define( 'LOGGED_IN_KEY',    getenv_docker('WORDPRESS_LOGGED_IN_KEY',    'put your unique phrase here') );
define( 'NONCE_KEY',        getenv_docker('WORDPRESS_NONCE_KEY',        'put your unique phrase here') );
define( 'AUTH_SALT',        getenv_docker('WORDPRESS_AUTH_SALT',        'put your unique phrase here') );
define( 'SECURE_AUTH_SALT', getenv_docker('WORDPRESS_SECURE_AUTH_SALT', 'put your unique phrase here') );
define( 'LOGGED_IN_SALT',   getenv_docker('WORDPRESS_LOGGED_IN_SALT',   'put your unique phrase here') );
define( 'NONCE_SALT',       getenv_docker('WORDPRESS_NONCE_SALT',       'put your unique phrase here') );

// ** Database table prefix ** //
$table_prefix = getenv_docker('WORDPRESS_TABLE_PREFIX', 'wp_');

// ** Debugging: off unless WORDPRESS_DEBUG is set to a non-empty value ** //
define( 'WP_DEBUG', !!getenv_docker('WORDPRESS_DEBUG', '') );

/* Add any custom values between this line and the "stop editing" line. */

// Behind an ingress or load balancer that terminates TLS.
if (isset($_SERVER['HTTP_X_FORWARDED_PROTO']) && strpos($_SERVER['HTTP_X_FORWARDED_PROTO'], 'https') !== false) {
    $_SERVER['HTTPS'] = 'on';
}

if ($configExtra = getenv_docker('WORDPRESS_CONFIG_EXTRA', '')) {
    eval($configExtra);
}

/* That's all, stop editing! Happy publishing. */

if ( ! defined( 'ABSPATH' ) ) {
    define( 'ABSPATH', __DIR__ . '/' );
}

require_once ABSPATH . 'wp-settings.php';
