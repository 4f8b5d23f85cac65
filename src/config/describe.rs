//! `wp-sentinel config`: the validated configuration as people read it, one line
//! per section, with the database password masked.
//!
//! It must not print any secret, and must not read anything but the [`Config`] it is
//! given (no environment, no files).

use std::collections::BTreeSet;

use super::{Config, Schedule};
use crate::wpconfig::reader::Resolved;

/// The configuration as people read it, secrets masked (for `wp-sentinel config`).
pub fn describe_config(config: &Config) -> String {
    let db = &config.mysql.settings;
    let schedule = |s: &Schedule| {
        format!(
            "interval = {:?}, timeout = {:?}, jitter = {:?}, failure_threshold = {}, success_threshold = {}",
            s.interval, s.timeout, s.jitter, s.failure_threshold, s.success_threshold
        )
    };
    let statuses: Vec<String> = config
        .wordpress
        .expected_statuses
        .iter()
        .map(|r| {
            if r.low == r.high {
                r.low.to_string()
            } else {
                format!("{}-{}", r.low, r.high)
            }
        })
        .collect();
    let pins: BTreeSet<String> = config
        .wpconfig
        .pins
        .iter()
        .map(
            |(name, value)| match crate::wpconfig::reader::is_secret(name) {
                // A pin whose name looks secret (`MY_API_SECRET`, `WP_REDIS_AUTH`).
                true => format!("{name} = ***"),
                false => format!("{name} = {}", pin_text(value)),
            },
        )
        .collect();
    let lines = [
        format!("listen = {}", config.listen),
        format!("wordpress_url = {}", config.wordpress.url),
        format!("wp_config = {}", config.wpconfig.path.display()),
        format!("[wordpress] host_header = {:?}, forwarded_proto = {:?}", config.wordpress.host_header, config.wordpress.forwarded_proto),
        format!("[wordpress] expected_statuses = {}, body_limit = {}", statuses.join(","), config.wordpress.body_limit),
        format!("[wordpress] {}", schedule(&config.wordpress.schedule)),
        format!("[wordpress_light] enabled = {}, url = {}", config.wordpress_light.enabled, config.wordpress_light.url),
        format!("[wordpress_light] {}", schedule(&config.wordpress_light.schedule)),
        format!("[mysql] enabled = {}, host = {} ({}), user = {:?}, password = ***, database = {:?}, table_prefix = {:?}",
            config.mysql.enabled, db.host_raw, db.endpoint, db.user, db.name, db.table_prefix),
        format!("[mysql] tls_mode = {}, tls_ca = {:?}, deep_check = {}", config.mysql.tls_mode.as_str(), config.mysql.tls_ca, config.mysql.deep_check),
        format!("[mysql] {}", schedule(&config.mysql.schedule)),
        format!("[wpconfig] enabled = {}, golden = {:?}, max_bytes = {}, interval = {:?}", config.wpconfig.enabled, config.wpconfig.golden, config.wpconfig.max_bytes, config.wpconfig.schedule.interval),
        format!("[wpconfig] pins = {{{}}}", pins.into_iter().collect::<Vec<_>>().join(", ")),
        format!("[heal] policy = {}, max_restarts = {}, liveness_failure_threshold = {}, forensics_dir = {:?}", config.heal.policy.as_str(), config.heal.max_restarts, config.heal.liveness_failure_threshold, config.heal.forensics_dir),
        format!("[server] max_connections = {}, header_read_timeout = {:?}, max_header_bytes = {}", config.server.max_connections, config.server.header_read_timeout, config.server.max_header_bytes),
        format!("[shutdown] drain = {:?}, deadline = {:?}", config.shutdown.drain, config.shutdown.deadline),
        format!("[log] format = {:?}, level = {:?}", config.log.format, config.log.level),
    ];
    // The password (or a secret pin's value) under another key, e.g. typed into
    // WORDPRESS_DB_USER, is masked by value.
    let mut redactor = crate::secret::Redactor::new().with(config.mysql.settings.password.expose());
    for (name, value) in &config.wpconfig.pins {
        if let (true, Resolved::Str(text)) = (crate::wpconfig::reader::is_secret(name), value) {
            redactor = redactor.with(text);
        }
    }
    redactor.redact(&lines.join("\n"))
}

/// A pin as `wp-sentinel config` has always printed it (`Bool(true)`, `Int(256)`,
/// `Text("…")`); the validator builds no other kind.
fn pin_text(value: &Resolved) -> String {
    match value {
        Resolved::Bool(flag) => format!("Bool({flag})"),
        Resolved::Int(number) => format!("Int({number})"),
        Resolved::Str(text) => format!("Text({text:?})"),
        other => format!("{other:?}"),
    }
}
