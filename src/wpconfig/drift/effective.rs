//! The configuration PHP ends up with: the file's own defines and `$table_prefix`
//! assignments, with the code of `WORDPRESS_CONFIG_EXTRA` (and any other `eval()`ed
//! variable) parsed and spliced in where the `eval` runs.
//!
//! Pure: the variables come through the lookup closure; it must not read the process
//! environment, and it follows only one level of `eval`.

use crate::wpconfig::reader::{self, Origin, ParsedConfig};

/// The configuration PHP ends up with: the file's defines and `$table_prefix`
/// assignments, with the code of each `eval()`ed variable (the official image's
/// `WORDPRESS_CONFIG_EXTRA`) parsed as PHP and spliced in where the `eval` runs. The
/// file's earlier defines still win, as in PHP; a later `$table_prefix` overrides.
/// Only one level: `eval`s inside the evaluated code are not followed.
pub fn effective_config(
    parsed: &ParsedConfig,
    env: &dyn Fn(&str) -> Option<String>,
) -> ParsedConfig {
    let mut merged = ParsedConfig {
        defines: Vec::new(),
        table_prefix_assignments: Vec::new(),
        ..parsed.clone()
    };
    let (mut defines_done, mut assignments_done) = (0, 0);
    for eval in &parsed.evals_env {
        // `if ($configExtra = getenv_docker(...))`: empty or "0" evaluates nothing.
        let Some(code) = env(&eval.var).filter(|code| !code.is_empty() && code != "0") else {
            continue;
        };
        let extra = reader::parse(format!("<?php {code}").as_bytes());
        let (defines, assignments) = (&parsed.defines, &parsed.table_prefix_assignments);
        copy_until(
            &mut merged.defines,
            defines,
            &mut defines_done,
            eval.defines_before,
        );
        copy_until(
            &mut merged.table_prefix_assignments,
            assignments,
            &mut assignments_done,
            eval.assignments_before,
        );
        let origin = Origin::EnvEval(eval.var.clone());
        merged
            .defines
            .extend(extra.defines.into_iter().map(|mut define| {
                define.origin = origin.clone();
                define
            }));
        let extra_assignments = extra.table_prefix_assignments.into_iter();
        merged
            .table_prefix_assignments
            .extend(extra_assignments.map(|mut assignment| {
                assignment.origin = origin.clone();
                assignment
            }));
        merged.includes.extend(extra.includes);
    }
    let (defines, assignments) = (&parsed.defines, &parsed.table_prefix_assignments);
    copy_until(&mut merged.defines, defines, &mut defines_done, usize::MAX);
    copy_until(
        &mut merged.table_prefix_assignments,
        assignments,
        &mut assignments_done,
        usize::MAX,
    );
    merged
}

/// Appends `from[*done..end]` (clipped to `from`) to `into`, and moves `done` on.
fn copy_until<T: Clone>(into: &mut Vec<T>, from: &[T], done: &mut usize, end: usize) {
    let end = end.min(from.len()).max(*done);
    into.extend(from.get(*done..end).unwrap_or(&[]).iter().cloned());
    *done = end;
}
