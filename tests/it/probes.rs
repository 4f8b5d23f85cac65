//! The probe server end to end on port 0, with a stand-in WordPress and the database
//! check disabled: routes, bodies, formats, hysteresis, draining.

use std::time::Duration;

use crate::support::{
    config, eventually, get, Behaviour, Sidecar, StandIn, DATABASE_ERROR_PAGE, MAINTENANCE_PAGE,
};

fn fast(url: &str) -> String {
    format!(
        "wordpress_url = \"{url}\"\n[wordpress]\ninterval = \"100ms\"\ntimeout = \"300ms\"\njitter = 0\n\
         [mysql]\nenabled = false\n[wpconfig]\nenabled = false\n[shutdown]\ndrain = \"300ms\"\ndeadline = \"1s\"\n"
    )
}

async fn healthy_sidecar() -> (StandIn, Sidecar) {
    let stand_in = StandIn::start(Behaviour::Answer(200, "ok".into())).await;
    let sidecar = Sidecar::start(config(&fast(&stand_in.url()), &[])).await;
    let ready = eventually(Duration::from_secs(5), || async {
        sidecar.get("/readyz").await.status == 200
    })
    .await;
    assert!(
        ready,
        "the sidecar should become ready against a healthy stand-in"
    );
    (stand_in, sidecar)
}

#[tokio::test]
async fn endpoints_answer_with_status_codes_and_bodies() {
    let (_stand_in, sidecar) = healthy_sidecar().await;
    for path in [
        "/livez",
        "/readyz",
        "/startupz",
        "/healthz",
        "/livez/wordpress",
        "/readyz/wordpress",
    ] {
        let response = sidecar.get(path).await;
        assert_eq!(response.status, 200, "{path}: {}", response.body);
        assert_eq!(response.body, "ok\n", "{path}");
    }
    let verbose = sidecar.get("/readyz?verbose").await;
    assert!(
        verbose
            .body
            .contains("[+]wordpress ok\n[+]shutdown ok\nreadyz check passed"),
        "{}",
        verbose.body
    );
    assert_eq!(sidecar.get("/nope").await.status, 404);
    assert_eq!(sidecar.get("/readyz/nosuchcheck").await.status, 404);
    let metrics = sidecar.get("/metrics").await;
    assert_eq!(metrics.status, 200);
    assert!(metrics
        .body
        .contains("wp_sentinel_probe_requests_total{endpoint=\"readyz\",result=\"pass\"}"));
    assert!(metrics
        .body
        .contains("wp_sentinel_check_duration_seconds_bucket{check=\"wordpress\",le=\"0.005\"}"));
    assert!(metrics.body.contains("wp_sentinel_build_info{version="));
    sidecar.stop().await.expect("clean stop");
}

#[tokio::test]
async fn health_json_when_asked_for() {
    let (_stand_in, sidecar) = healthy_sidecar().await;
    for response in [
        sidecar.get("/readyz?format=json").await,
        get(
            sidecar.addr,
            "/readyz",
            &[("Accept", "application/health+json")],
        )
        .await,
    ] {
        assert!(
            response.headers.contains("application/health+json"),
            "{}",
            response.headers
        );
        let body: serde_json::Value = serde_json::from_str(&response.body).expect("JSON body");
        assert_eq!(body["status"], "pass");
        let check = &body["checks"]["wordpress:responseTime"][0];
        assert_eq!(check["status"], "pass");
        assert_eq!(check["observedUnit"], "ms");
        assert!(check["observedValue"].as_f64().is_some());
        assert!(check["time"].as_str().is_some_and(|t| t.ends_with('Z')));
    }
}

#[tokio::test]
async fn failures_flip_after_the_threshold_and_recover() {
    let (stand_in, sidecar) = healthy_sidecar().await;
    stand_in.set(Behaviour::Hang);
    let live_fails = eventually(Duration::from_secs(5), || async {
        sidecar.get("/livez").await.status == 503
    })
    .await;
    assert!(
        live_fails,
        "a hanging WordPress fails liveness after its threshold"
    );
    let verbose = sidecar.get("/livez?verbose").await;
    assert!(
        verbose
            .body
            .contains("[-]wordpress failed: WordPress is not answering"),
        "{}",
        verbose.body
    );
    assert_eq!(
        sidecar.get("/livez?exclude=wordpress").await.status,
        200,
        "exclude skips the check"
    );
    assert_eq!(
        sidecar.get("/startupz").await.status,
        503,
        "a hang is no HTTP answer"
    );
    stand_in.set(Behaviour::Answer(200, "ok".into()));
    let recovered = eventually(Duration::from_secs(5), || async {
        sidecar.get("/livez").await.status == 200
    })
    .await;
    assert!(recovered);
}

/// Probes never wait for a check: 20 are answered while the stand-in holds the
/// check's request (the check's timeout is far away), and only then is it released.
#[tokio::test]
async fn probes_answer_while_a_check_is_held() {
    use std::sync::atomic::Ordering::SeqCst;
    let stand_in = StandIn::start(Behaviour::Answer(200, "ok".into())).await;
    let toml = fast(&stand_in.url()).replace("timeout = \"300ms\"", "timeout = \"600s\"")
        + "[wordpress_light]\nenabled = false\n";
    let sidecar = Sidecar::start(config(&toml, &[])).await;
    assert!(
        eventually(Duration::from_secs(5), || async {
            sidecar.get("/readyz").await.status == 200
        })
        .await
    );
    let gate = std::sync::Arc::new(tokio::sync::Semaphore::new(0));
    stand_in.set(Behaviour::Hold(gate.clone()));
    assert!(
        eventually(Duration::from_secs(5), || async {
            stand_in.held.load(SeqCst) >= 1
        })
        .await,
        "the check's next request reaches the stand-in and is held"
    );
    for _ in 0..20 {
        let response = sidecar.get("/readyz").await;
        assert_eq!(response.status, 200, "{}", response.body);
        assert!(
            stand_in.held.load(SeqCst) >= 1,
            "the check's request is still held"
        );
    }
    gate.add_permits(100);
    assert!(
        eventually(Duration::from_secs(5), || async {
            stand_in.held.load(SeqCst) == 0
        })
        .await
    );
}

#[tokio::test]
async fn maintenance_is_alive_not_ready() {
    let (stand_in, sidecar) = healthy_sidecar().await;
    stand_in.set(Behaviour::Answer(503, MAINTENANCE_PAGE.into()));
    assert!(
        eventually(Duration::from_secs(5), || async {
            sidecar.get("/readyz").await.status == 503
        })
        .await
    );
    assert!(
        sidecar
            .stays("/livez", 200, Duration::from_millis(400))
            .await,
        "maintenance never fails liveness"
    );
    assert_eq!(sidecar.get("/startupz").await.status, 200);
}

#[tokio::test]
async fn database_error_page_without_a_database_check_never_fails_liveness() {
    // With the database check disabled nobody can confirm the database is fine, so
    // WordPress is never blamed for it.
    let (stand_in, sidecar) = healthy_sidecar().await;
    stand_in.set(Behaviour::Answer(500, DATABASE_ERROR_PAGE.into()));
    assert!(
        eventually(Duration::from_secs(5), || async {
            sidecar.get("/readyz").await.status == 503
        })
        .await
    );
    assert!(
        sidecar
            .stays("/livez", 200, Duration::from_millis(500))
            .await,
        "a database error page without a database check never fails liveness"
    );
    assert_eq!(sidecar.get("/startupz").await.status, 200);
}

#[tokio::test]
async fn shutdown_fails_readiness_at_once_and_keeps_answering_while_draining() {
    let (_stand_in, mut sidecar) = healthy_sidecar().await;
    sidecar.trigger_shutdown();
    let draining = eventually(Duration::from_secs(1), || async {
        sidecar.get("/readyz").await.status == 503
    })
    .await;
    assert!(draining, "readiness fails as soon as shutdown starts");
    assert!(sidecar
        .get("/readyz?verbose")
        .await
        .body
        .contains("[-]shutdown failed: draining"));
    assert_eq!(
        sidecar.get("/livez").await.status,
        200,
        "liveness keeps passing while draining"
    );
    sidecar
        .stop()
        .await
        .expect("run returns Ok after the drain");
}

#[tokio::test]
async fn only_get_and_head_are_served() {
    let (_stand_in, sidecar) = healthy_sidecar().await;
    let mut stream = tokio::net::TcpStream::connect(sidecar.addr)
        .await
        .expect("connect");
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stream
        .write_all(
            b"POST /livez HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        )
        .await
        .expect("send");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.expect("read");
    assert!(answer.starts_with("HTTP/1.1 405"), "{answer}");
}

#[tokio::test]
async fn a_flood_of_idle_connections_does_not_block_probes() {
    let (_stand_in, sidecar) = healthy_sidecar().await;
    // Open many connections that never send a request, as a slow-loris would.
    let mut idle = Vec::new();
    for _ in 0..600 {
        if let Ok(stream) = tokio::net::TcpStream::connect(sidecar.addr).await {
            idle.push(stream);
        }
    }
    let answered = eventually(Duration::from_secs(2), || async {
        tokio::time::timeout(Duration::from_secs(1), sidecar.get("/livez"))
            .await
            .is_ok_and(|r| r.status == 200)
    })
    .await;
    assert!(
        answered,
        "probes are answered while {} idle connections are open",
        idle.len()
    );
}
