//! In-process benchmarks: answering probes from the cached verdict through the real
//! router (no socket), rendering `/metrics`, and parsing and comparing a real-size
//! `wp-config.php`. Load against the running binary is measured by
//! `scripts/bench.sh`; see BENCHMARKS.md.

use std::hint::black_box;
use std::sync::Arc;
use std::time::SystemTime;

use criterion::{criterion_group, criterion_main, Criterion};
use hyper::{HeaderMap, Method, Uri};
use tokio::time::Instant;
use wp_sentinel::board::{Board, CheckSettings};
use wp_sentinel::server::{route, AppState};
use wp_sentinel::verdict::{CheckName, Class, Observation, Status, Thresholds};
use wp_sentinel::wpconfig::{drift, reader};

const OFFICIAL: &[u8] = include_bytes!("../tests/fixtures/wpconfig/docker.php");

fn healthy_state() -> AppState {
    let settings = CheckSettings {
        enabled: true,
        thresholds: Thresholds {
            failure: 2,
            success: 1,
        },
        staleness_bound: std::time::Duration::from_secs(3600),
    };
    let board = Board::new([settings; wp_sentinel::verdict::N_CHECKS]);
    for check in CheckName::ALL {
        board.record(
            check,
            Observation {
                status: Status::Pass,
                class: Class::Ok,
                message: "ok".into(),
                started: Instant::now(),
                duration: std::time::Duration::from_millis(3),
                finished_at: SystemTime::now(),
            },
        );
    }
    AppState {
        board,
        metrics: wp_sentinel::metrics::install(),
        witness: Arc::new(wp_sentinel::heal::witness::LivenessWitness::new(3)),
    }
}

fn probes(c: &mut Criterion) {
    let state = Arc::new(healthy_state());
    let headers = HeaderMap::new();
    let mut json_headers = HeaderMap::new();
    json_headers.insert(
        hyper::header::ACCEPT,
        "application/health+json".parse().expect("header"),
    );
    for (name, uri, headers) in [
        ("readyz", "/readyz", &headers),
        ("livez", "/livez", &headers),
        ("readyz_verbose", "/readyz?verbose", &headers),
        ("readyz_health_json", "/readyz", &json_headers),
    ] {
        let uri: Uri = uri.parse().expect("uri");
        c.bench_function(&format!("route/{name}"), |b| {
            b.iter(|| black_box(route(&state, &Method::GET, black_box(&uri), headers)))
        });
    }
    let uri: Uri = "/metrics".parse().expect("uri");
    c.bench_function("route/metrics", |b| {
        b.iter(|| black_box(route(&state, &Method::GET, &uri, &headers)))
    });
}

fn wpconfig(c: &mut Criterion) {
    let env = |name: &str| match name {
        "WORDPRESS_DB_HOST" => Some("db:3306".to_string()),
        "WORDPRESS_DB_PASSWORD" => Some("secret".to_string()),
        _ => None,
    };
    let desired = drift::Desired::official_image();
    c.bench_function("wpconfig/parse_official", |b| {
        b.iter(|| black_box(reader::parse(black_box(OFFICIAL))))
    });
    c.bench_function("wpconfig/parse_and_compare", |b| {
        b.iter(|| {
            let parsed = reader::parse(black_box(OFFICIAL));
            black_box(drift::compare(&parsed, &desired, &env))
        })
    });
    c.bench_function("wpconfig/normalized_fingerprint", |b| {
        b.iter(|| black_box(drift::normalized_fingerprint(black_box(OFFICIAL))))
    });
}

criterion_group!(benches, probes, wpconfig);
criterion_main!(benches);
