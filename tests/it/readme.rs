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
