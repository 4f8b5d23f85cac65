//! Unit tests of the hysteresis and of the probe rules, driven by timed sequences of
//! observations (`(check, at_ms, class)`), so every cause-aware rule is exercised.
//!
//! They must not sleep or touch the network: times are offsets from one base instant.

use super::*;

const THRESHOLDS: Thresholds = Thresholds {
    failure: 2,
    success: 1,
};

/// An observation of `class` that started `at_ms` after `base`.
fn observed(base: Instant, at_ms: u64, class: Class) -> Observation {
    let status = match class {
        Class::Ok => Status::Pass,
        Class::ChangedOutsidePins => Status::Warn,
        _ => Status::Fail,
    };
    let started = base + Duration::from_millis(at_ms);
    Observation {
        status,
        class,
        message: class.as_str().to_string(),
        started,
        duration: Duration::from_millis(3),
        finished_at: SystemTime::now(),
    }
}

/// Feeds `(check, at_ms, class)` events in order and returns the states.
fn states(events: &[(CheckName, u64, Class)]) -> States {
    let base = Instant::now();
    let mut states: States = Default::default();
    for (check, at_ms, class) in events {
        states[*check].record(observed(base, *at_ms, *class), THRESHOLDS);
    }
    states
}

fn passes(probe: Probe, states: &States, context: Context) -> bool {
    all_ok(&evaluate(probe, states, context))
}

const WITH_FILE: Context = Context {
    draining: false,
    breaker_tripped: false,
    wpconfig_enabled: true,
    mysql_enabled: true,
    wordpress_light_enabled: false,
};
/// Both WordPress checks, as the defaults run them.
const WITH_LIGHT: Context = Context {
    wordpress_light_enabled: true,
    ..WITH_FILE
};
use CheckName::{Mysql as M, WordPress as W, WordPressLight as L, WpConfig as C};

fn failing_lines(probe: Probe, states: &States, context: Context) -> Vec<&'static str> {
    evaluate(probe, states, context)
        .into_iter()
        .filter(|line| !line.ok)
        .map(|line| line.subject.as_str())
        .collect()
}

#[test]
fn hysteresis_needs_consecutive_failures_and_successes() {
    let base = Instant::now();
    let mut state = CheckState::default();
    let thresholds = Thresholds {
        failure: 3,
        success: 2,
    };
    assert!(
        state.record(observed(base, 0, Class::Ok), thresholds),
        "first result counts at once"
    );
    assert!(!state.record(observed(base, 1, Class::Timeout), thresholds));
    assert!(!state.record(observed(base, 2, Class::Timeout), thresholds));
    assert_eq!(state.effective, Status::Pass);
    assert!(
        state.record(observed(base, 3, Class::Timeout), thresholds),
        "third failure flips"
    );
    assert_eq!(
        (state.effective, state.effective_class),
        (Status::Fail, Class::Timeout)
    );
    assert!(
        !state.record(observed(base, 4, Class::Ok), thresholds),
        "one success is not enough"
    );
    assert!(state.record(observed(base, 5, Class::Ok), thresholds));
    assert_eq!(state.effective, Status::Pass);
    // A failure between successes resets the count.
    state.record(observed(base, 6, Class::Timeout), thresholds);
    state.record(observed(base, 7, Class::Ok), thresholds);
    state.record(observed(base, 8, Class::Timeout), thresholds);
    state.record(observed(base, 9, Class::Timeout), thresholds);
    assert_eq!(
        state.effective,
        Status::Pass,
        "failures were not consecutive"
    );
}

#[test]
fn first_failure_counts_at_once_and_updates_reason_while_failing() {
    let base = Instant::now();
    let mut state = CheckState::default();
    state.record(observed(base, 0, Class::Refused), THRESHOLDS);
    assert_eq!(
        (state.effective, state.effective_class),
        (Status::Fail, Class::Refused)
    );
    state.record(observed(base, 1, Class::Timeout), THRESHOLDS);
    assert_eq!(
        state.effective_class,
        Class::Timeout,
        "a failing check shows its latest reason"
    );
}

#[test]
fn database_outage_fails_readiness_never_liveness() {
    // WordPress shows the database-error page; the sidecar's own re-check fails too.
    let s = states(&[
        (M, 0, Class::Ok),
        (W, 0, Class::Ok),
        (W, 100, Class::DatabaseError),
        (M, 110, Class::Unreachable),
        (W, 200, Class::DatabaseError),
        (M, 210, Class::Unreachable),
    ]);
    assert!(passes(Probe::Live, &s, WITH_FILE));
    assert!(!passes(Probe::Ready, &s, WITH_FILE));
    assert!(
        passes(Probe::Startup, &s, WITH_FILE),
        "the error page is an HTTP answer"
    );
}

#[test]
fn database_error_with_database_fine_after_it_fails_liveness() {
    let s = states(&[
        (M, 0, Class::Ok),
        (W, 100, Class::DatabaseError),
        (W, 200, Class::DatabaseError),
        (M, 210, Class::Ok),
    ]);
    let lines = evaluate(Probe::Live, &s, WITH_FILE);
    assert!(!all_ok(&lines));
    assert!(
        lines[0].reason.contains("WordPress itself is broken"),
        "{lines:?}"
    );
}

#[test]
fn database_result_older_than_the_wordpress_error_holds_liveness() {
    // The race the re-check exists for: the last database success predates the error.
    let s = states(&[
        (M, 50, Class::Ok),
        (W, 100, Class::DatabaseError),
        (W, 200, Class::DatabaseError),
    ]);
    let lines = evaluate(Probe::Live, &s, WITH_FILE);
    assert!(all_ok(&lines), "{lines:?}");
    assert!(lines[0].reason.contains("re-checking"));
}

#[test]
fn the_outages_last_error_read_after_the_database_returns_is_not_wordpress_fault() {
    // Regression: the database came back and passed its re-check while WordPress's
    // latest answer was still the outage's error page.
    let s = states(&[
        (M, 0, Class::Ok),
        (W, 0, Class::Ok),
        (W, 100, Class::DatabaseError),
        (M, 110, Class::Unreachable),
        (W, 200, Class::DatabaseError),
        (M, 210, Class::Unreachable),
        (M, 300, Class::Ok),
    ]);
    let lines = evaluate(Probe::Live, &s, WITH_FILE);
    assert!(all_ok(&lines), "{lines:?}");
}

#[test]
fn wordpress_is_blamed_again_after_a_database_blip_once_it_errs_with_the_database_fine() {
    let s = states(&[
        (M, 0, Class::Ok),
        (W, 100, Class::DatabaseError),
        (W, 200, Class::DatabaseError),
        (M, 210, Class::Unreachable),
        (M, 300, Class::Ok),
        (W, 400, Class::DatabaseError),
        (M, 410, Class::Ok),
    ]);
    assert!(!passes(Probe::Live, &s, WITH_FILE));
}

#[test]
fn the_breaker_also_holds_wordpress_errors_that_the_drift_explains() {
    // Regression: with DB_HOST 'hoge' the WordPress line kept failing liveness
    // after the breaker tripped, so the restart loop went on.
    let s = states(&[
        (M, 0, Class::Ok),
        (C, 0, Class::Drift),
        (W, 100, Class::DatabaseError),
        (W, 200, Class::DatabaseError),
        (M, 210, Class::Ok),
    ]);
    assert!(!passes(Probe::Live, &s, WITH_FILE));
    let tripped = Context {
        breaker_tripped: true,
        ..WITH_FILE
    };
    assert!(passes(Probe::Live, &s, tripped));
    assert!(!passes(Probe::Ready, &s, tripped));
    let wedged = states(&[
        (M, 0, Class::Ok),
        (C, 0, Class::Drift),
        (W, 100, Class::Timeout),
        (W, 200, Class::Timeout),
    ]);
    assert!(
        !passes(Probe::Live, &wedged, tripped),
        "a wedge is no drift symptom: still a restart"
    );
}

#[test]
fn a_database_blip_below_threshold_does_not_blame_wordpress() {
    // Database check failed once (effective still pass) after WordPress's error.
    let s = states(&[
        (M, 0, Class::Ok),
        (W, 100, Class::DatabaseError),
        (W, 200, Class::DatabaseError),
        (M, 210, Class::Unreachable),
    ]);
    assert!(passes(Probe::Live, &s, WITH_FILE));
}

#[test]
fn other_server_errors_blame_wordpress_only_when_the_database_answers() {
    let fine = states(&[
        (M, 0, Class::Ok),
        (W, 100, Class::ServerError),
        (W, 200, Class::ServerError),
        (M, 210, Class::Ok),
    ]);
    assert!(!passes(Probe::Live, &fine, WITH_FILE));
    let down = states(&[
        (M, 0, Class::Ok),
        (W, 100, Class::ServerError),
        (W, 200, Class::ServerError),
        (M, 210, Class::Timeout),
    ]);
    assert!(passes(Probe::Live, &down, WITH_FILE));
}

#[test]
fn wedged_wordpress_fails_liveness_after_its_threshold() {
    let once = states(&[
        (W, 0, Class::Ok),
        (M, 0, Class::Ok),
        (W, 100, Class::Timeout),
    ]);
    assert!(
        passes(Probe::Live, &once, WITH_FILE),
        "one timeout is below the threshold"
    );
    let twice = states(&[
        (W, 0, Class::Ok),
        (M, 0, Class::Ok),
        (W, 100, Class::Timeout),
        (W, 200, Class::Refused),
    ]);
    assert!(!passes(Probe::Live, &twice, WITH_FILE));
    assert!(
        !passes(Probe::Startup, &twice, WITH_FILE),
        "refused is no HTTP answer"
    );
}

#[test]
fn maintenance_is_alive_but_not_ready() {
    let s = states(&[(M, 0, Class::Ok), (W, 0, Class::Maintenance)]);
    assert!(passes(Probe::Live, &s, WITH_FILE));
    assert!(!passes(Probe::Ready, &s, WITH_FILE));
}

#[test]
fn startup_waits_for_any_http_answer() {
    assert!(!passes(Probe::Startup, &states(&[]), WITH_FILE));
    assert!(!passes(
        Probe::Startup,
        &states(&[(W, 0, Class::Refused)]),
        WITH_FILE
    ));
    for class in [
        Class::Ok,
        Class::DatabaseError,
        Class::ServerError,
        Class::UnexpectedStatus,
        Class::Maintenance,
    ] {
        assert!(
            passes(Probe::Startup, &states(&[(W, 0, class)]), WITH_FILE),
            "{class:?}"
        );
    }
}

#[test]
fn drift_fails_both_until_the_breaker_trips() {
    let s = states(&[(W, 0, Class::Ok), (M, 0, Class::Ok), (C, 0, Class::Drift)]);
    assert!(!passes(Probe::Live, &s, WITH_FILE));
    assert!(!passes(Probe::Ready, &s, WITH_FILE));
    let tripped = Context {
        breaker_tripped: true,
        ..WITH_FILE
    };
    assert!(passes(Probe::Live, &s, tripped));
    assert!(!passes(Probe::Ready, &s, tripped));
}

#[test]
fn file_problems_and_outside_changes_do_not_fail_liveness() {
    let missing = states(&[
        (W, 0, Class::Ok),
        (M, 0, Class::Ok),
        (C, 0, Class::FileProblem),
    ]);
    assert!(passes(Probe::Live, &missing, WITH_FILE));
    assert!(!passes(Probe::Ready, &missing, WITH_FILE));
    let changed = states(&[
        (W, 0, Class::Ok),
        (M, 0, Class::Ok),
        (C, 0, Class::ChangedOutsidePins),
    ]);
    assert!(passes(Probe::Live, &changed, WITH_FILE));
    assert!(passes(Probe::Ready, &changed, WITH_FILE), "warn passes");
}

#[test]
fn draining_fails_readiness_only() {
    let s = states(&[(W, 0, Class::Ok), (M, 0, Class::Ok), (C, 0, Class::Ok)]);
    assert!(passes(Probe::Ready, &s, WITH_FILE));
    let draining = Context {
        draining: true,
        ..WITH_FILE
    };
    assert!(!passes(Probe::Ready, &s, draining));
    assert!(passes(Probe::Live, &s, draining));
}

#[test]
fn disabled_checks_have_no_lines() {
    let s = states(&[(W, 0, Class::Ok)]);
    let lines = evaluate(Probe::Ready, &s, Context::default());
    assert!(lines
        .iter()
        .all(|line| line.subject.as_str() != "wpconfig" && line.subject.as_str() != "mysql"));
    assert!(all_ok(&lines));
}

#[test]
fn the_light_checks_timeouts_fail_liveness_while_the_deep_check_still_passes() {
    // A wedge seen by the light check first: the deep check ran a minute ago.
    let s = states(&[
        (W, 0, Class::Ok),
        (M, 0, Class::Ok),
        (L, 0, Class::Ok),
        (L, 5_000, Class::Timeout),
    ]);
    assert!(
        passes(Probe::Live, &s, WITH_LIGHT),
        "one light timeout is below the threshold"
    );
    let s = states(&[
        (W, 0, Class::Ok),
        (M, 0, Class::Ok),
        (L, 0, Class::Ok),
        (C, 0, Class::Ok),
        (L, 5_000, Class::Timeout),
        (L, 7_250, Class::Timeout),
    ]);
    assert_eq!(
        failing_lines(Probe::Live, &s, WITH_LIGHT),
        ["wordpress_light"]
    );
    assert_eq!(
        failing_lines(Probe::Ready, &s, WITH_LIGHT),
        ["wordpress_light"]
    );
    let reason = &evaluate(Probe::Live, &s, WITH_LIGHT)[0].reason;
    assert!(reason.contains("not answering"), "{reason}");
}

#[test]
fn php_source_in_the_light_answer_fails_liveness() {
    let s = states(&[
        (W, 0, Class::Ok),
        (M, 0, Class::Ok),
        (L, 0, Class::PhpNotExecuting),
    ]);
    assert_eq!(
        failing_lines(Probe::Live, &s, WITH_LIGHT),
        ["wordpress_light"]
    );
    let only_light = states(&[(L, 0, Class::PhpNotExecuting)]);
    assert!(
        !passes(Probe::Startup, &only_light, WITH_LIGHT),
        "PHP source is no answer from PHP"
    );
}

#[test]
fn the_light_checks_error_page_during_an_outage_never_fails_liveness() {
    // The same cause-aware rule as the deep check's: the database is down.
    let s = states(&[
        (L, 0, Class::Ok),
        (M, 0, Class::Ok),
        (M, 100, Class::Unreachable),
        (M, 200, Class::Unreachable),
        (L, 300, Class::DatabaseError),
        (L, 400, Class::DatabaseError),
    ]);
    assert!(passes(Probe::Live, &s, WITH_LIGHT));
    assert!(!passes(Probe::Ready, &s, WITH_LIGHT));
}

#[test]
fn a_redirect_to_the_installer_fails_readiness_not_liveness() {
    let s = states(&[
        (L, 0, Class::Ok),
        (M, 0, Class::Ok),
        (C, 0, Class::Ok),
        (W, 0, Class::NotInstalled),
    ]);
    assert_eq!(failing_lines(Probe::Ready, &s, WITH_LIGHT), ["wordpress"]);
    assert!(
        passes(Probe::Live, &s, WITH_LIGHT),
        "a restart does not install WordPress"
    );
    assert!(passes(Probe::Startup, &s, WITH_LIGHT));
}

#[test]
fn startup_passes_once_either_wordpress_check_had_an_answer_from_php() {
    // The check that finished last has the latest word.
    assert!(passes(
        Probe::Startup,
        &states(&[(W, 0, Class::Ok), (L, 10, Class::Ok)]),
        WITH_LIGHT
    ));
    assert!(passes(
        Probe::Startup,
        &states(&[
            (L, 0, Class::Ok),
            (M, 0, Class::Unreachable),
            (W, 10, Class::DatabaseError)
        ]),
        WITH_LIGHT
    ));
    assert!(!passes(
        Probe::Startup,
        &states(&[(L, 0, Class::Ok), (W, 10, Class::Timeout)]),
        WITH_LIGHT
    ));
    assert!(passes(
        Probe::Startup,
        &states(&[(L, 0, Class::Ok)]),
        WITH_LIGHT
    ));
    assert!(!passes(
        Probe::Startup,
        &states(&[(L, 0, Class::Refused), (W, 10, Class::Timeout)]),
        WITH_LIGHT
    ));
}

#[test]
fn the_light_check_has_no_lines_when_disabled() {
    let s = states(&[(W, 0, Class::Ok), (M, 0, Class::Ok), (L, 0, Class::Timeout)]);
    assert!(passes(Probe::Live, &s, WITH_FILE));
    assert!(evaluate(Probe::Ready, &s, WITH_FILE)
        .iter()
        .all(|line| line.subject.as_str() != "wordpress_light"));
}

/// Without the database check nothing is known of the database: the verbose body
/// must not say it is down, and WordPress's database errors never fail liveness.
#[test]
fn without_a_database_check_no_verdict_names_the_database_down() {
    let states = states(&[(W, 0, Class::DatabaseError), (W, 10, Class::DatabaseError)]);
    let context = Context {
        mysql_enabled: false,
        ..WITH_FILE
    };
    let lines = evaluate(Probe::Live, &states, context);
    let wordpress = lines
        .iter()
        .find(|line| line.subject.as_str() == "wordpress")
        .expect("a wordpress line");
    assert!(wordpress.ok, "{wordpress:?}");
    assert!(
        wordpress.reason.contains("no database check runs"),
        "{wordpress:?}"
    );
    assert!(
        !wordpress.reason.contains("database is down"),
        "{wordpress:?}"
    );
}

#[test]
fn startup_waits_while_liveness_would_fail_on_a_stale_refusal() {
    // The sidecar starts before Apache: the deep check's first run is refused, then
    // the light check's first answer comes. Liveness, which the kubelet starts the
    // moment startup passes, would still fail on the deep check's refusal.
    let stale = [(W, 0, Class::Refused), (L, 10, Class::Ok)];
    assert!(!passes(Probe::Live, &states(&stale), WITH_LIGHT));
    let startup = evaluate(Probe::Startup, &states(&stale), WITH_LIGHT);
    assert!(!all_ok(&startup));
    assert!(
        startup[0]
            .reason
            .contains("re-checking wordpress before liveness starts"),
        "{startup:?}"
    );
    // The same the other way round: the deep check answered, the light one's refusal
    // is stale.
    let stale_light = [(L, 0, Class::Refused), (W, 10, Class::Ok)];
    assert!(!passes(Probe::Startup, &states(&stale_light), WITH_LIGHT));
    // The deep check's next run (the light check's answer triggers it) clears it.
    let cleared = [
        (W, 0, Class::Refused),
        (L, 10, Class::Ok),
        (W, 20, Class::Ok),
    ];
    assert!(passes(Probe::Startup, &states(&cleared), WITH_LIGHT));
    assert!(passes(Probe::Live, &states(&cleared), WITH_LIGHT));
}

#[test]
fn a_wordpress_broken_at_boot_passes_startup_and_liveness_judges_it() {
    // The deep check ran after the light check's answer and still fails: not stale.
    // Liveness must get it within its threshold, not after the startup budget.
    let broken = [
        (M, 0, Class::Ok),
        (L, 5, Class::Ok),
        (W, 10, Class::DatabaseError),
        (M, 20, Class::Ok),
    ];
    assert!(!passes(Probe::Live, &states(&broken), WITH_LIGHT));
    assert!(passes(Probe::Startup, &states(&broken), WITH_LIGHT));
    // PHP source served by the light check after the deep check's 200.
    let source = [(W, 0, Class::Ok), (L, 10, Class::PhpNotExecuting)];
    assert!(!passes(Probe::Live, &states(&source), WITH_LIGHT));
    assert!(
        !passes(Probe::Startup, &states(&source), WITH_LIGHT),
        "PHP source is no answer from PHP: the latest word"
    );
}
