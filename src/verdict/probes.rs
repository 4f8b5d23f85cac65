//! How the checks' latest states map to the three probes (`/livez`, `/readyz`,
//! `/startupz`): the cause-aware rules that are the product (see `verdict.rs`).
//!
//! Pure logic: it reads [`CheckState`]s and a [`Context`] and returns lines; it must
//! not do I/O, look at a clock, or change any state.

use super::{CheckName, CheckState, Class, PerCheck, Status, Subject};

/// A probe's verdict on one check, as listed by `?verbose`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    pub subject: Subject,
    pub ok: bool,
    pub reason: String,
}

/// Which probe is asking.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Probe {
    Live,
    Ready,
    Startup,
}

impl Probe {
    /// Every probe: `/livez`, `/readyz`, `/startupz`.
    pub const ALL: [Probe; 3] = [Probe::Live, Probe::Ready, Probe::Startup];

    pub fn as_str(self) -> &'static str {
        match self {
            Probe::Live => "live",
            Probe::Ready => "ready",
            Probe::Startup => "startup",
        }
    }
}

/// Everything the mapping needs besides the check states.
#[derive(Clone, Copy, Debug, Default)]
pub struct Context {
    pub draining: bool,
    /// The restart-loop breaker has tripped: drift no longer fails liveness.
    pub breaker_tripped: bool,
    /// Whether the wp-config check is enabled (it is off where the sidecar cannot
    /// see the docroot: WordPress's files in its container's own layer).
    pub wpconfig_enabled: bool,
    /// Whether the database check is enabled. Without it nobody can confirm the
    /// database is fine, so WordPress is never blamed for database errors.
    pub mysql_enabled: bool,
    /// Whether the light WordPress check (`wordpress_light`) runs.
    pub wordpress_light_enabled: bool,
}

/// The states of all checks.
pub type States = PerCheck<CheckState>;

/// The lines of one probe. A probe passes when every line is ok.
pub fn evaluate(probe: Probe, states: &States, context: Context) -> Vec<Line> {
    let wordpress = &states[CheckName::WordPress];
    let mysql = &states[CheckName::Mysql];
    let wpconfig = &states[CheckName::WpConfig];
    let light = &states[CheckName::WordPressLight];
    let mut lines = Vec::with_capacity(5);
    match probe {
        Probe::Startup => {
            let mut line = startup_line(wordpress, light);
            // The kubelet starts liveness the moment startup passes. A liveness line
            // that fails on a result older than the other WordPress check's latest
            // answer is stale (at start: the deep check refused before Apache
            // listened, then the light check got its first 200): startup waits for
            // that check's next run, which the answer triggers. A failure seen after
            // WordPress answered is liveness's to judge, as before.
            let stale = live_wordpress_lines(wordpress, light, mysql, context)
                .into_iter()
                .find(|live| !live.ok && stale_against_the_other_check(live.subject, states));
            if let Some(stale) = stale.filter(|_| line.ok) {
                line.ok = false;
                line.reason = format!(
                    "re-checking {} before liveness starts: its result predates WordPress's latest answer ({})",
                    stale.subject.as_str(),
                    stale.reason
                );
            }
            lines.push(line);
        }
        Probe::Live => {
            lines.extend(live_wordpress_lines(wordpress, light, mysql, context));
            if context.wpconfig_enabled {
                lines.push(live_wpconfig_line(wpconfig, context.breaker_tripped));
            }
        }
        Probe::Ready => {
            if context.wordpress_light_enabled {
                lines.push(plain_line(CheckName::WordPressLight, light));
            }
            lines.push(plain_line(CheckName::WordPress, wordpress));
            if context.mysql_enabled {
                lines.push(plain_line(CheckName::Mysql, mysql));
            }
            if context.wpconfig_enabled {
                let mut line = plain_line(CheckName::WpConfig, wpconfig);
                if context.breaker_tripped && line.ok {
                    line.ok = false;
                    line.reason =
                        "restart-loop breaker tripped: restarts did not heal the drift".into();
                }
                lines.push(line);
            }
            lines.push(Line {
                subject: Subject::Shutdown,
                ok: !context.draining,
                reason: if context.draining {
                    "draining: the sidecar is shutting down".into()
                } else {
                    String::new()
                },
            });
        }
    }
    lines
}

/// Liveness's WordPress lines. The light check's failures are judged by the same
/// rule as the deep check's: a timeout, a refusal or PHP not executing is WordPress
/// not answering; an error page is blamed only with the database fine.
fn live_wordpress_lines(
    wordpress: &CheckState,
    light: &CheckState,
    mysql: &CheckState,
    context: Context,
) -> Vec<Line> {
    let mut lines = Vec::with_capacity(2);
    if context.wordpress_light_enabled {
        lines.push(live_wordpress_line(
            CheckName::WordPressLight,
            light,
            mysql,
            context,
        ));
    }
    lines.push(live_wordpress_line(
        CheckName::WordPress,
        wordpress,
        mysql,
        context,
    ));
    lines
}

fn plain_line(name: CheckName, state: &CheckState) -> Line {
    Line {
        subject: Subject::Check(name),
        ok: state.effective.is_ok(),
        // A plain pass needs no story; a warn or a failure says why.
        reason: if state.effective == Status::Pass {
            String::new()
        } else {
            state.effective_message.clone()
        },
    }
}

/// Whether `subject`'s latest result finished before the other WordPress check's
/// latest HTTP answer: WordPress has answered since, so that result is stale.
fn stale_against_the_other_check(subject: Subject, states: &States) -> bool {
    let (this, other) = match subject {
        Subject::Check(CheckName::WordPress) => (CheckName::WordPress, CheckName::WordPressLight),
        Subject::Check(CheckName::WordPressLight) => {
            (CheckName::WordPressLight, CheckName::WordPress)
        }
        _ => return false,
    };
    match (&states[this].last, &states[other].last) {
        (Some(this), Some(other)) => {
            other.class.is_http_answer() && this.finished() < other.finished()
        }
        _ => false,
    }
}

fn startup_line(wordpress: &CheckState, light: &CheckState) -> Line {
    // Any HTTP answer from PHP means the container started, even the database-error
    // page: a deploy during a database outage must not turn into a restart loop. Of
    // the two WordPress checks, the one that finished last has the latest word.
    let latest = match (&wordpress.last, &light.last) {
        (Some(deep), Some(light)) if light.finished() > deep.finished() => Some(light),
        (Some(deep), _) => Some(deep),
        (None, light) => light.as_ref(),
    };
    let answered = latest.is_some_and(|last| last.class.is_http_answer());
    let reason = match latest {
        Some(last) if !answered => last.message.clone(),
        None => "WordPress not checked yet".to_string(),
        Some(_) => String::new(),
    };
    Line {
        subject: Subject::Check(CheckName::WordPress),
        ok: answered,
        reason,
    }
}

fn live_wordpress_line(
    name: CheckName,
    wordpress: &CheckState,
    mysql: &CheckState,
    context: Context,
) -> Line {
    let breaker_tripped = context.breaker_tripped;
    let ok = |reason: &str| Line {
        subject: Subject::Check(name),
        ok: true,
        reason: reason.to_string(),
    };
    let fail = |reason: String| Line {
        subject: Subject::Check(name),
        ok: false,
        reason,
    };
    if wordpress.effective != Status::Fail {
        return ok("");
    }
    match wordpress.effective_class {
        // Not checked yet: liveness starts as success in the kubelet too.
        Class::Pending => ok("not checked yet"),
        // Maintenance mode is alive, just not ready.
        Class::Maintenance => ok("maintenance mode"),
        // Missing tables or a wrong `$table_prefix` that is not drift: a restart does
        // not install WordPress; readiness fails, liveness holds.
        Class::NotInstalled => ok(&format!(
            "{} (a restart does not fix it: not ready, alive)",
            wordpress.effective_message
        )),
        Class::Refused
        | Class::Timeout
        | Class::Protocol
        | Class::Internal
        | Class::PhpNotExecuting => fail(format!(
            "WordPress is not answering: {}",
            wordpress.effective_message
        )),
        Class::DatabaseError | Class::ServerError | Class::UnexpectedStatus => {
            let line = match context.mysql_enabled {
                true => blame_wordpress_if_database_is_fine(name, wordpress, mysql),
                // Nobody can confirm the database is fine: never WordPress's fault.
                false => Line {
                    subject: Subject::Check(name),
                    ok: true,
                    reason: format!(
                        "{} (no database check runs: not blamed on WordPress)",
                        wordpress.effective_message
                    ),
                },
            };
            if line.ok || !breaker_tripped {
                return line;
            }
            // Restarts did not heal the drift, and the drift explains these errors:
            // holding liveness here too is what stops the restart loop.
            ok(&format!(
                "{} (restart-loop breaker tripped: liveness held)",
                line.reason
            ))
        }
        _ => fail(wordpress.effective_message.clone()),
    }
}

/// WordPress answered an error. It is WordPress's fault (a restart may help) only if
/// the database was fine all around WordPress's latest error: the sidecar's current
/// run of database passes began before that error, and one of them started after it
/// (the engine triggers that re-check at once). An error WordPress saw while the
/// database was down, read back after the database returned, is not its fault.
/// Anything else, including a database check still under way, holds liveness.
fn blame_wordpress_if_database_is_fine(
    name: CheckName,
    wordpress: &CheckState,
    mysql: &CheckState,
) -> Line {
    let error_at = wordpress.last.as_ref().map(|last| last.started);
    let database_fine_around = match (&mysql.last, mysql.passing_since, error_at) {
        (Some(last), Some(passing_since), Some(error_at)) => {
            last.status.is_ok()
                && mysql.effective.is_ok()
                && passing_since <= error_at
                && last.started >= error_at
        }
        _ => false,
    };
    if database_fine_around {
        Line {
            subject: Subject::Check(name),
            ok: false,
            reason: format!(
                "{} while the database answers with the desired settings: WordPress itself is broken",
                wordpress.effective_message
            ),
        }
    } else if mysql.effective == Status::Fail {
        Line {
            subject: Subject::Check(name),
            ok: true,
            reason: format!(
                "{} (database is down: not WordPress's fault)",
                wordpress.effective_message
            ),
        }
    } else {
        Line {
            subject: Subject::Check(name),
            ok: true,
            reason: format!(
                "{} (re-checking the database before blaming WordPress)",
                wordpress.effective_message
            ),
        }
    }
}

fn live_wpconfig_line(wpconfig: &CheckState, breaker_tripped: bool) -> Line {
    let drifted = wpconfig.effective == Status::Fail && wpconfig.effective_class == Class::Drift;
    if drifted && breaker_tripped {
        return Line {
            subject: Subject::Check(CheckName::WpConfig),
            ok: true,
            reason: format!(
                "{} (restart-loop breaker tripped: liveness held, readiness failing)",
                wpconfig.effective_message
            ),
        };
    }
    // A file problem (missing, unreadable) fails liveness only when it is drift a
    // restart can fix: the check classifies a missing, emptied or mangled file as
    // drift once it has seen a good copy (before that, at start-up, WordPress may not
    // have written it yet).
    Line {
        subject: Subject::Check(CheckName::WpConfig),
        ok: !drifted,
        reason: if drifted {
            wpconfig.effective_message.clone()
        } else {
            String::new()
        },
    }
}

/// Whether all lines pass.
pub fn all_ok(lines: &[Line]) -> bool {
    lines.iter().all(|line| line.ok)
}
