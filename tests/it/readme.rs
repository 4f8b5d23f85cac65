//! The README's claims, checked against the real sidecar: every `/<probe>/<check>`
//! name its endpoint table lists answers, and every other check name answers 404.

use std::time::Duration;

use wp_sentinel::verdict::CheckName;

use crate::support::{closed_port, config, Sidecar};

const README: &str = include_str!("../../README.md");

/// The backticked names (not paths) in the last column of the README's `/<probe>/<check>` row.
fn listed_checks(probe: &str) -> Vec<String> {
    let start = format!("| `/{probe}/<check>` |");
    let row = README
        .lines()
        .find(|line| line.starts_with(&start))
        .unwrap_or_else(|| panic!("README: no endpoint row for /{probe}/<check>"));
    let last = row
        .trim_end_matches('|')
        .rsplit('|')
        .next()
        .unwrap_or_default();
    last.split('`')
        .skip(1)
        .step_by(2)
        .filter(|name| !name.starts_with('/'))
        .map(str::to_string)
        .collect()
}

#[tokio::test]
async fn every_check_name_the_readme_lists_answers_and_no_other() {
    // Every check enabled, none healthy: a line fails (503) but is there (not 404).
    let wordpress = closed_port().await;
    let database = closed_port().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let toml = format!(
        "wordpress_url = \"http://{wordpress}/\"\nwp_config = \"{}\"\n\
         [mysql]\ntimeout = \"200ms\"\n[shutdown]\ndrain = 0\ndeadline = 0\n",
        dir.path().join("wp-config.php").display()
    );
    let host = database.to_string();
    let sidecar = Sidecar::start(config(&toml, &[("WORDPRESS_DB_HOST", &host)])).await;
    let mut names: Vec<&str> = CheckName::ALL.iter().map(|c| c.as_str()).collect();
    names.extend(["shutdown", "nosuchcheck"]);
    for probe in ["livez", "readyz", "startupz"] {
        let listed = listed_checks(probe);
        assert!(!listed.is_empty(), "README lists no check for /{probe}");
        for listed_name in &listed {
            assert!(
                names.contains(&listed_name.as_str()),
                "README lists /{probe}/{listed_name}, which is no check"
            );
        }
        for name in &names {
            let status = sidecar.get(&format!("/{probe}/{name}")).await.status;
            let served = status != 404;
            assert_eq!(
                served,
                listed.iter().any(|l| l == name),
                "/{probe}/{name} answered {status}; README lists {listed:?}"
            );
        }
    }
    let _ = tokio::time::timeout(Duration::from_secs(10), sidecar.stop()).await;
}

/// The keys of the README's configuration table, expanded: `<check>.interval` for
/// each check the row names (or the row before named), `.timeout` after
/// `<check>.interval` as `<check>.timeout`, `wpconfig.pins.<NAME>` as `wpconfig.pins`.
fn readme_keys() -> Vec<String> {
    let mut lines = README
        .lines()
        .skip_while(|line| !line.starts_with("| key (TOML) |"))
        .skip(2);
    let mut keys = Vec::new();
    let mut checks: Vec<String> = Vec::new();
    for row in lines.by_ref().take_while(|line| line.starts_with('|')) {
        let first = row.split('|').nth(1).unwrap_or_default();
        let (patterns, note) = first.split_once('(').unwrap_or((first, ""));
        let named: Vec<String> = note
            .split('`')
            .skip(1)
            .step_by(2)
            .filter(|name| *name != "<check>")
            .map(str::to_string)
            .collect();
        if note.contains("`<check>`:") && !named.is_empty() {
            checks = named;
        }
        let mut section = String::new();
        for token in patterns.split('`').skip(1).step_by(2) {
            let full = match token.strip_prefix('.') {
                Some(field) => format!("{section}.{field}"),
                None => token.to_string(),
            };
            section = full
                .rsplit_once('.')
                .map(|(s, _)| s.to_string())
                .unwrap_or_default();
            let full = full.trim_end_matches(".<NAME>").to_string();
            match full.strip_prefix("<check>.") {
                Some(field) => keys.extend(checks.iter().map(|check| format!("{check}.{field}"))),
                None => keys.push(full),
            }
        }
    }
    keys
}

/// The contract test: the README's key table, `wp-sentinel config --contract` and
/// the validator's known keys are the same set, so a key added to one without the
/// others fails here.
#[test]
fn readme_contract_and_validator_agree_on_every_key() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_wp-sentinel"))
        .args(["config", "--contract"])
        .env_clear()
        .output()
        .expect("run the binary");
    assert_eq!(output.status.code(), Some(0));
    let contract: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("--contract prints JSON");
    let sorted = |mut keys: Vec<String>| {
        keys.sort_unstable();
        keys
    };
    let from_contract = sorted(
        contract["keys"]
            .as_array()
            .expect("keys")
            .iter()
            .map(|key| key["key"].as_str().expect("key name").to_string())
            .collect(),
    );
    let from_validator = sorted(wp_sentinel::config::contract::known_keys());
    let readme = readme_keys();
    let from_readme = sorted(readme.clone());
    let mut unique = from_readme.clone();
    unique.dedup();
    assert_eq!(unique, from_readme, "README lists a key twice");
    assert_eq!(
        from_contract, from_validator,
        "--contract and the validator"
    );
    assert_eq!(
        from_readme, from_validator,
        "README's key table and the validator"
    );
    for metric in contract["metrics"].as_array().expect("metrics") {
        assert!(metric["name"]
            .as_str()
            .is_some_and(|n| n.starts_with("wp_sentinel_")));
        assert!(["gauge", "counter", "histogram"].contains(&metric["type"].as_str().unwrap_or("")));
    }
}
