//! The one-shot commands: `check` (run every check once and report), `probe` (a tiny
//! HTTP client for exec probes in images without curl), `config` (the effective
//! configuration, secrets masked; `--contract` is `config::contract`) and `wpconfig`
//! (what the reader understood of the file, and its drift). Each returns its report
//! and an exit code; printing and exiting is `main.rs`'s job.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use hyper::header::{HeaderValue, HOST, USER_AGENT};

use crate::checks::mysql::MysqlCheck;
use crate::checks::wordpress::WordPressCheck;
use crate::config::Config;
use crate::verdict::{self, CheckName, Probe};

/// Exit codes, documented in the README.
pub const EXIT_PASS: i32 = 0;
pub const EXIT_FAIL: i32 = 1;
pub const EXIT_CONFIG: i32 = 2;

/// Runs each enabled check once (the file, the light and the deep WordPress checks,
/// then the database: the cause-aware rule blames WordPress only when the database
/// check started after WordPress's error), and reports the probes' verdicts. The
/// exit code follows `probe`.
pub async fn check(config: &Config, probe: Probe) -> (String, i32) {
    let mut config = config.clone();
    // One run each: no hysteresis.
    for schedule in [
        &mut config.wordpress.schedule,
        &mut config.wordpress_light.schedule,
        &mut config.mysql.schedule,
        &mut config.wpconfig.schedule,
    ] {
        schedule.failure_threshold = 1;
        schedule.success_threshold = 1;
    }
    let board = crate::new_board(&config);
    if config.wpconfig.enabled {
        match crate::checks::wpconfig::from_config(&config.wpconfig) {
            Ok(check) => board.record(CheckName::WpConfig, check.run().await),
            Err(error) => return (format!("{error}\n"), EXIT_CONFIG),
        }
    }
    if config.wordpress_light.enabled {
        board.record(
            CheckName::WordPressLight,
            WordPressCheck::light(&config.wordpress, &config.wordpress_light)
                .run()
                .await,
        );
    }
    board.record(
        CheckName::WordPress,
        WordPressCheck::new(&config.wordpress).run().await,
    );
    if config.mysql.enabled {
        let mysql = MysqlCheck::new(&config.mysql);
        board.record(CheckName::Mysql, mysql.run().await);
        mysql.disconnect().await;
    }
    let snapshot = board.snapshot();
    let mut report = String::new();
    for check in CheckName::ALL {
        if let Some(last) = &snapshot.states[check].last {
            let _ = writeln!(
                report,
                "{:<15} {:<4} {:>7.1}ms  {}",
                check.as_str(),
                last.status.as_str(),
                last.duration.as_secs_f64() * 1000.0,
                last.message
            );
        }
    }
    let mut code = EXIT_PASS;
    for kind in [Probe::Startup, Probe::Live, Probe::Ready] {
        let lines = snapshot.probe_lines(kind);
        let ok = verdict::all_ok(lines);
        let _ = writeln!(
            report,
            "{}z: {}",
            kind.as_str(),
            if ok { "pass" } else { "fail" }
        );
        for line in lines.iter().filter(|line| !line.ok) {
            let _ = writeln!(report, "  [-]{} {}", line.subject, line.reason);
        }
        if kind == probe && !ok {
            code = EXIT_FAIL;
        }
    }
    (report, code)
}

/// Like the kubelet: at most 10 KiB of the body is read (and printed).
const PROBE_BODY_LIMIT: usize = 10 * 1024;

/// `wp-sentinel probe URL`: GET with a timeout; exit 0 on 2xx/3xx, 1 otherwise, 2
/// for a URL it cannot use (not `http://`, no host): a bad argument, as in the README.
pub async fn probe(url: &str, timeout: Duration) -> (String, i32) {
    let uri = match probe_uri(url) {
        Ok(uri) => uri,
        Err(error) => return (format!("probe: {error}\n"), EXIT_CONFIG),
    };
    let authority = uri
        .authority()
        .and_then(|a| HeaderValue::from_str(a.as_str()).ok())
        .unwrap_or_else(|| HeaderValue::from_static("localhost"));
    let headers = [
        (HOST, authority),
        (
            USER_AGENT,
            HeaderValue::from_static(concat!("wp-sentinel-probe/", env!("CARGO_PKG_VERSION"))),
        ),
    ];
    let started = Instant::now();
    match crate::http::get(&uri, &headers, PROBE_BODY_LIMIT, timeout).await {
        Ok(crate::http::Answer { status, body, .. }) => {
            let ok = (200..400).contains(&status);
            let report = format!(
                "{status} in {:.1}ms\n{body}",
                started.elapsed().as_secs_f64() * 1000.0
            );
            (report, if ok { EXIT_PASS } else { EXIT_FAIL })
        }
        Err(error) => (format!("probe failed: {error}\n"), EXIT_FAIL),
    }
}

/// The URL `probe` was given, or why it cannot be used.
fn probe_uri(url: &str) -> Result<hyper::Uri, String> {
    let uri: hyper::Uri = url
        .parse()
        .map_err(|error| format!("bad URL {url:?}: {error}"))?;
    if uri.scheme_str() != Some("http") {
        return Err(format!("bad URL {url:?}: only http:// URLs"));
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(format!("bad URL {url:?}: no host"));
    }
    Ok(uri)
}

/// `wp-sentinel config`.
pub fn describe(config: &Config) -> String {
    let mut text = crate::config::describe_config(config);
    text.push('\n');
    text
}

/// `wp-sentinel wpconfig [PATH]`: what the reader understood (secrets masked) and
/// the drift against the desired state. Exit 0 no drift, 1 drift or an unusable
/// file, 2 bad configuration.
pub fn wpconfig(config: &Config, path: Option<&std::path::Path>) -> (String, i32) {
    use crate::checks::wpconfig::{from_config, read_bounded, FileRead};
    use crate::wpconfig::{drift, reader};
    let mut settings = config.wpconfig.clone();
    if let Some(path) = path {
        settings.path = path.to_path_buf();
    }
    let check = match from_config(&settings) {
        Ok(check) => check,
        Err(error) => return (format!("{error}\n"), EXIT_CONFIG),
    };
    let bytes = match read_bounded(check.path(), check.max_bytes()) {
        FileRead::Bytes(bytes) => bytes,
        other => return (format!("{}\n", other.describe(check.path())), EXIT_FAIL),
    };
    let env = check.environment().lookup();
    let parsed = drift::effective_config(&reader::parse(&bytes), &env);
    let mut report = format!("{}: {} bytes\n", check.path().display(), bytes.len());
    for define in &parsed.defines {
        let shown = drift::masked_value_description(&define.name, &define.value);
        let _ = writeln!(
            report,
            "  line {:>4}  define {} = {}",
            define.line, define.name, shown
        );
    }
    if let Some(prefix) = parsed.table_prefix() {
        let _ = writeln!(
            report,
            "  line {:>4}  $table_prefix = {}",
            prefix.line,
            prefix.value.describe()
        );
    }
    for name in parsed.unevaluated() {
        let _ = writeln!(report, "  not evaluated: {name}");
    }
    for name in parsed.duplicates() {
        let _ = writeln!(
            report,
            "  defined more than once (PHP keeps the first): {name}"
        );
    }
    let drifts = drift::compare(&parsed, check.desired(), &env);
    if drifts.is_empty() {
        report.push_str("no drift: the file matches the desired settings\n");
        return (check.redactor().redact(&report), EXIT_PASS);
    }
    let _ = writeln!(report, "drift in {} key(s):", drifts.len());
    for item in &drifts {
        let _ = writeln!(report, "  {item}");
    }
    // A secret's value under another name (the password typed into DB_USER).
    (check.redactor().redact(&report), EXIT_FAIL)
}
