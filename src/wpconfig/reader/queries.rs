//! What can be asked of a whole [`ParsedConfig`], following PHP's rules: which
//! define counts (the first), which `$table_prefix` assignment PHP ends up with,
//! which names are defined twice or cannot be evaluated, which includes hide
//! configuration from the reader.
//!
//! It only looks at what the scanner recorded; it must not re-read the source, and
//! it must not judge whether values are right (that is `drift.rs`).

use std::collections::{HashMap, HashSet};

use super::{Assignment, Define, Include, ParsedConfig};

impl ParsedConfig {
    /// The define PHP keeps for `name`: the first one in the file.
    pub fn get(&self, name: &str) -> Option<&Define> {
        self.defines.iter().find(|define| define.name == name)
    }

    /// The `$table_prefix` assignment PHP ends up with: the last one, except that an
    /// assignment that only runs while the variable is unset is skipped once an
    /// earlier one has set it. Conditions of other `if`s are assumed to hold.
    pub fn table_prefix(&self) -> Option<&Assignment> {
        let mut current: Option<&Assignment> = None;
        for assignment in &self.table_prefix_assignments {
            if assignment.only_if_unset && current.is_some() {
                continue;
            }
            current = Some(assignment);
        }
        current
    }

    /// Names defined more than once (PHP warns and keeps the first), each listed once.
    /// A later define guarded by `if (!defined(...))` is no duplicate, and neither are
    /// two conditional ones (likely `if`/`else` branches, as in Debian's file).
    pub fn duplicates(&self) -> Vec<String> {
        // For each name seen: whether one of its defines was unconditional.
        let mut seen: HashMap<&str, bool> = HashMap::new();
        let mut reported = HashSet::new();
        let mut duplicates = Vec::new();
        for define in &self.defines {
            let name = define.name.as_str();
            let earlier_unconditional = seen.get(name).copied();
            let clash = earlier_unconditional.is_some_and(|u| u || !define.conditional);
            if clash && !define.guarded && reported.insert(name) {
                duplicates.push(define.name.clone());
            }
            let unconditional = earlier_unconditional.unwrap_or(false) || !define.conditional;
            seen.insert(name, unconditional);
        }
        duplicates
    }

    /// Names of the effective defines (and `$table_prefix`) whose value the reader
    /// cannot evaluate: [`Value::Unknown`](super::Value::Unknown), constants such as `__DIR__`, `$_SERVER`.
    pub fn unevaluated(&self) -> Vec<String> {
        let mut seen = HashSet::new();
        let mut names: Vec<String> = self
            .defines
            .iter()
            .filter(|define| seen.insert(define.name.as_str()))
            .filter(|define| !define.value.is_evaluable())
            .map(|define| define.name.clone())
            .collect();
        if self.table_prefix().is_some_and(|a| !a.value.is_evaluable()) {
            names.push("$table_prefix".to_string());
        }
        names
    }

    /// The includes other than `wp-settings.php`: configuration the reader cannot see
    /// (Debian's `wp-config.php` only loads `/etc/wordpress/config-*.php`).
    pub fn foreign_includes(&self) -> impl Iterator<Item = &Include> {
        self.includes
            .iter()
            .filter(|include| !include.is_wp_settings())
    }
}
