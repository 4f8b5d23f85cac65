//! Unit tests of loading and validating configuration: defaults, typed values, one
//! error line per bad key, the order of the layers, and the masked description.
//!
//! They must not set process environment variables: the `WP_SENTINEL_*` layer is
//! exercised inside figment's `Jail`, the `WORDPRESS_*` lookup is passed in.

use super::*;

fn no_env(_: &str) -> Option<String> {
    None
}

/// Loads `toml`; `Ok(())` or the error lines.
fn load(toml: &str) -> Result<Config, Vec<String>> {
    Config::from_toml(toml, &no_env).map_err(|errors| errors.0)
}

/// One bad setting gives exactly one line, naming the key.
fn check_error(toml: &str, key_in_message: &str) {
    let errors = load(toml)
        .err()
        .unwrap_or_else(|| panic!("{toml:?} should be rejected"));
    assert_eq!(errors.len(), 1, "{toml:?}: {errors:?}");
    assert!(
        errors[0].contains(key_in_message),
        "{toml:?}: {errors:?} should name {key_in_message}"
    );
}

#[test]
fn defaults_match_the_contract() {
    let config = load("").unwrap();
    assert_eq!(config.listen.to_string(), DEFAULT_LISTEN);
    assert_eq!(
        config.wordpress.url.to_string(),
        "http://127.0.0.1:80/wp-login.php"
    );
    assert_eq!(config.wpconfig.path, PathBuf::from(DEFAULT_WP_CONFIG));
    assert_eq!(config.heal.policy, HealPolicy::Restart);
    assert_eq!(config.mysql.tls_mode, TlsMode::Preferred);
    assert_eq!(config.mysql.settings.host_raw, "mysql");
    assert_eq!(
        config.wordpress.expected_statuses,
        vec![StatusRange {
            low: 200,
            high: 399
        }]
    );
    assert_eq!(config.wordpress.schedule.failure_threshold, 2);
    assert_eq!(config.wordpress.schedule.interval, Duration::from_secs(55));
    assert!(config.wordpress_light.enabled);
    assert_eq!(
        config.wordpress_light.url.to_string(),
        "http://127.0.0.1:80/wp-includes/version.php"
    );
    assert_eq!(
        config.wordpress_light.schedule.interval,
        Duration::from_secs(5)
    );
    assert_eq!(
        config.wordpress_light.schedule.timeout,
        Duration::from_secs(2)
    );
}

#[test]
fn the_light_check_keys_are_read_and_follow_the_url() {
    let config = load(
        r#"
            wordpress_url = "http://127.0.0.1:8080/"
            [wordpress_light]
            path = "/ping.php"
            interval = "3s"
            failure_threshold = 3
            enabled = false
        "#,
    )
    .unwrap();
    assert_eq!(
        config.wordpress_light.url.to_string(),
        "http://127.0.0.1:8080/ping.php"
    );
    assert_eq!(
        config.wordpress_light.schedule.interval,
        Duration::from_secs(3)
    );
    assert_eq!(config.wordpress_light.schedule.failure_threshold, 3);
    assert!(!config.wordpress_light.enabled);
}

#[test]
fn valid_values_are_typed() {
    let config = load(
        r#"
            listen = "127.0.0.1:0"
            wordpress_url = "http://127.0.0.1:8080/"
            [wordpress]
            path = "/healthz.php?x=1"
            expected_statuses = [200, "300-302", "4xx"]
            interval = "1.5s"
            timeout = 250
            [mysql]
            tls_mode = "VERIFY-IDENTITY"
            deep_check = true
            [wpconfig.pins]
            wp_debug = false
            DISALLOW_FILE_EDIT = true
            WP_HOME = "https://example.com"
            [heal]
            policy = "restore"
            max_restarts = 5
            [shutdown]
            drain = "250ms"
            "#,
    )
    .unwrap();
    assert_eq!(
        config.wordpress.url.to_string(),
        "http://127.0.0.1:8080/healthz.php?x=1"
    );
    assert_eq!(config.wordpress.expected_statuses.len(), 3);
    assert_eq!(
        config.wordpress.schedule.interval,
        Duration::from_millis(1500)
    );
    assert_eq!(
        config.wordpress.schedule.timeout,
        Duration::from_secs(250).min(Duration::from_secs(600))
    );
    assert_eq!(config.mysql.tls_mode, TlsMode::VerifyIdentity);
    assert_eq!(
        config.wpconfig.pins.get("WP_DEBUG"),
        Some(&Resolved::Bool(false))
    );
    assert_eq!(
        config.wpconfig.pins.get("WP_HOME"),
        Some(&Resolved::Str("https://example.com".into()))
    );
    assert_eq!(config.heal.policy, HealPolicy::Restore);
    assert_eq!(config.shutdown.drain, Duration::from_millis(250));
}

#[test]
fn each_bad_key_is_named() {
    check_error(r#"listen = "nowhere""#, "listen (WP_SENTINEL_LISTEN)");
    check_error(
        "[wordpress_light]\npath = \"no-slash\"",
        "wordpress_light.path (WP_SENTINEL_WORDPRESS_LIGHT__PATH)",
    );
    check_error(
        "[wordpress_light]\ninterval = \"soon\"",
        "wordpress_light.interval (WP_SENTINEL_WORDPRESS_LIGHT__INTERVAL)",
    );
    check_error(
        "[wordpress_light]\nenabled = \"maybe\"",
        "wordpress_light.enabled",
    );
    check_error("[wordpress_light]\npaht = \"/x\"", "wordpress_light.paht");
    check_error(r#"wordpress_url = "https://127.0.0.1/""#, "wordpress_url");
    check_error(r#"wordpress_url = "not a url""#, "wordpress_url");
    check_error(
        "[wordpress]\ninterval = \"fast\"",
        "wordpress.interval (WP_SENTINEL_WORDPRESS__INTERVAL)",
    );
    check_error("[wordpress]\ninterval = \"1ms\"", "wordpress.interval");
    check_error("[wordpress]\ntimeout = -1", "wordpress.timeout");
    check_error(
        "[wordpress]\nfailure_threshold = 0",
        "wordpress.failure_threshold",
    );
    check_error(
        "[wordpress]\nexpected_statuses = [\"20x\"]",
        "wordpress.expected_statuses",
    );
    check_error(
        "[wordpress]\nexpected_statuses = [\"399-200\"]",
        "wordpress.expected_statuses",
    );
    check_error("[wordpress]\nbody_limit = \"big\"", "wordpress.body_limit");
    check_error("[mysql]\ntls_mode = \"sometimes\"", "mysql.tls_mode");
    check_error("[mysql]\ntls_ca = \"/nonexistent/ca.pem\"", "mysql.tls_ca");
    check_error("[mysql]\nenabled = \"perhaps\"", "mysql.enabled");
    check_error("[mysql]\ntls_mod = \"required\"", "mysql.tls_mod");
    check_error("[heal]\npolicy = \"pray\"", "heal.policy");
    check_error("[heal]\nmax_restarts = 0", "heal.max_restarts");
    check_error(
        "[wpconfig]\ngolden = \"/nonexistent/golden.php\"",
        "wpconfig.golden",
    );
    check_error(
        "[wpconfig.pins]\n\"BAD NAME\" = true",
        "wpconfig.pins.BAD NAME",
    );
    check_error("[wpconfig.pins]\nWP_DEBUG = [1]", "wpconfig.pins.WP_DEBUG");
    check_error("[log]\nformat = \"xml\"", "log.format");
    check_error("[shutdown]\ndrain = \"forever\"", "shutdown.drain");
    check_error("unknown_top = 1", "unknown_top");
    check_error("mysql = 3", "mysql: expected a table");
}

#[test]
fn every_bad_key_is_reported_at_once() {
    let errors =
        load("listen = \"x\"\n[mysql]\ntls_mode = \"x\"\n[heal]\npolicy = \"x\"\nmax_restarts = 0")
            .unwrap_err();
    assert_eq!(errors.len(), 4, "{errors:?}");
}

#[test]
fn database_variables_are_validated_with_the_rest() {
    let env = |name: &str| (name == "WORDPRESS_DB_HOST").then(|| "db:notaport".to_string());
    let errors = Config::from_toml("[heal]\npolicy = \"x\"", &env)
        .unwrap_err()
        .0;
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(errors.iter().any(|e| e.starts_with("WORDPRESS_DB_HOST")));
}

#[test]
fn a_missing_config_file_is_an_error() {
    let errors = Config::load(
        Some(Path::new("/nonexistent/wp-sentinel.toml")),
        &Flags::default(),
        &no_env,
    )
    .unwrap_err();
    assert!(
        errors.0[0].contains("/nonexistent/wp-sentinel.toml"),
        "{errors:?}"
    );
}

#[test]
fn layers_apply_in_order_file_env_flags() {
    figment::Jail::expect_with(|jail| {
        jail.create_file(
            "sentinel.toml",
            "listen = \"127.0.0.1:1111\"\n[mysql]\ninterval = \"7s\"\ntimeout = \"3s\"\n",
        )?;
        jail.set_env("WP_SENTINEL_MYSQL__INTERVAL", "9s");
        jail.set_env("WP_SENTINEL_LISTEN", "127.0.0.1:2222");
        // What Kubernetes injects for a Service named wp-sentinel: ignored.
        jail.set_env("WP_SENTINEL_PORT", "tcp://10.0.0.1:9090");
        jail.set_env("WP_SENTINEL_SERVICE_HOST", "10.0.0.1");
        let flags = Flags {
            listen: Some("127.0.0.1:3333".into()),
            ..Flags::default()
        };
        let config = Config::load(Some(Path::new("sentinel.toml")), &flags, &no_env)
            .map_err(|e| e.to_string())?;
        assert_eq!(config.listen.to_string(), "127.0.0.1:3333", "flags win");
        assert_eq!(
            config.mysql.schedule.interval,
            Duration::from_secs(9),
            "env beats the file"
        );
        assert_eq!(
            config.mysql.schedule.timeout,
            Duration::from_secs(3),
            "the file beats defaults"
        );
        Ok(())
    });
}

#[test]
fn whole_numbers_from_environment_variables_are_accepted() {
    // Regression: figment reads "2" as an unsigned number, which was rejected.
    figment::Jail::expect_with(|jail| {
        jail.set_env("WP_SENTINEL_HEAL__MAX_RESTARTS", "2");
        jail.set_env("WP_SENTINEL_MYSQL__TIMEOUT", "3");
        jail.set_env("WP_SENTINEL_WORDPRESS__FAILURE_THRESHOLD", "4");
        jail.set_env("WP_SENTINEL_WPCONFIG__PINS__WP_MEMORY_LIMIT", "256");
        let config = Config::load(None, &Flags::default(), &no_env).map_err(|e| e.to_string())?;
        assert_eq!(config.heal.max_restarts, 2);
        assert_eq!(config.mysql.schedule.timeout, Duration::from_secs(3));
        assert_eq!(config.wordpress.schedule.failure_threshold, 4);
        assert_eq!(
            config.wpconfig.pins.get("WP_MEMORY_LIMIT"),
            Some(&Resolved::Int(256))
        );
        Ok(())
    });
}

#[test]
fn a_typo_in_an_env_key_of_a_known_section_is_an_error() {
    figment::Jail::expect_with(|jail| {
        jail.set_env("WP_SENTINEL_HEAL__POLICI", "restore");
        let errors = Config::load(None, &Flags::default(), &no_env).unwrap_err();
        assert!(
            errors.0[0].contains("WP_SENTINEL_HEAL__POLICI"),
            "{errors:?}"
        );
        Ok(())
    });
}

#[test]
fn durations_and_status_ranges_parse() {
    let cases = [
        ("250ms", Some(250)),
        ("5s", Some(5000)),
        ("1.5s", Some(1500)),
        ("2m", Some(120_000)),
        ("3", Some(3000)),
        ("", None),
        ("5 parsecs", None),
        ("-1s", None),
        ("1e400", None),
    ];
    for (text, millis) in cases {
        assert_eq!(
            parse_duration(text).map(|d| d.as_millis() as u64),
            millis,
            "{text:?}"
        );
    }
    assert_eq!(
        parse_status_range("2xx"),
        Some(StatusRange {
            low: 200,
            high: 299
        })
    );
    assert_eq!(
        parse_status_range("301"),
        Some(StatusRange {
            low: 301,
            high: 301
        })
    );
    assert_eq!(
        parse_status_range(" 300 - 302 "),
        Some(StatusRange {
            low: 300,
            high: 302
        })
    );
    assert_eq!(parse_status_range("700"), None);
    assert_eq!(parse_status_range("9xx"), None);
}

#[test]
fn the_description_masks_the_password() {
    let env = |name: &str| (name == "WORDPRESS_DB_PASSWORD").then(|| "pa55-w0rd".to_string());
    let config = Config::from_toml("", &env).unwrap();
    let text = describe_config(&config);
    assert!(!text.contains("pa55-w0rd"), "{text}");
    assert!(text.contains("password = ***"));
    assert!(!format!("{config:?}").contains("pa55-w0rd"));
}

#[test]
fn the_probe_ports_bounds_are_validated_naming_the_key() {
    let config = load("").unwrap();
    assert_eq!(config.server.max_header_bytes, 8192);
    assert_eq!(config.server.header_read_timeout, Duration::from_secs(2));
    // Below hyper's minimum read buffer (8192), which would panic at start.
    check_error(
        "[server]\nmax_header_bytes = 4096",
        "server.max_header_bytes",
    );
    check_error(
        "[server]\nmax_header_bytes = \"big\"",
        "server.max_header_bytes",
    );
    check_error("[server]\nmax_connections = 0", "server.max_connections");
    let config = load("[server]\nmax_header_bytes = 16384").unwrap();
    assert_eq!(config.server.max_header_bytes, 16384);
}

#[test]
fn a_log_level_that_is_no_level_is_an_error_naming_the_key() {
    // tracing would take these for target names and write no line at all.
    check_error("[log]\nlevel = \"warning\"", "log.level");
    check_error("[log]\nlevel = \"verbose\"", "log.level");
    check_error("[log]\nlevel = \"warn,wp_sentinel=loud\"", "log.level");
    for good in ["warn", "DEBUG", "info,wp_sentinel=debug", "off"] {
        let config = load(&format!("[log]\nlevel = \"{good}\"")).unwrap();
        assert_eq!(config.log.level, good);
    }
}

#[test]
fn wordpress_url_must_be_on_loopback() {
    for bad in [
        "http://10.0.0.7/",
        "http://wordpress.example/",
        "http://[2001:db8::1]:80/",
    ] {
        check_error(&format!("wordpress_url = \"{bad}\""), "wordpress_url");
    }
    // Credentials are refused, and the password is not echoed in the error.
    check_error(
        "wordpress_url = \"http://admin:hunter2@127.0.0.1/\"",
        "credentials in the URL",
    );
    let errors = load("wordpress_url = \"http://admin:hunter2@127.0.0.1/\"")
        .err()
        .unwrap_or_default();
    assert!(errors.iter().all(|e| !e.contains("hunter2")), "{errors:?}");
    for good in [
        "http://127.0.0.1:8080/",
        "http://127.1.2.3/",
        "http://localhost/",
        "http://[::1]:80/",
    ] {
        assert!(
            load(&format!("wordpress_url = \"{good}\"")).is_ok(),
            "{good}"
        );
    }
}
