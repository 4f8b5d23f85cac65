//! The MySQL check and the cause-aware verdicts against the real MariaDB: a user and
//! a database made by each test, a proxy to cut the database off, a listener that
//! never answers, and a TLS-only user on a MariaDB with TLS that the test starts.

use std::time::Duration;

use wp_sentinel::checks::mysql::MysqlCheck;
use wp_sentinel::verdict::Class;

use crate::support::{
    config, eventually, mysql_addr, pairs, silent_listener, Behaviour, CutProxy, Sidecar, StandIn,
    TestDatabase, DATABASE_ERROR_PAGE,
};

const FAST_DB: &str = "[mysql]\ninterval = \"200ms\"\ntimeout = \"500ms\"\njitter = 0\n";

fn sidecar_toml(wordpress_url: &str, mysql_extra: &str) -> String {
    format!(
        "wordpress_url = \"{wordpress_url}\"\n[wordpress]\ninterval = \"200ms\"\ntimeout = \"500ms\"\njitter = 0\n\
         {FAST_DB}{mysql_extra}\n[wpconfig]\nenabled = false\n[shutdown]\ndrain = 0\n"
    )
}

async fn run_check(env: &[(String, String)], extra: &str) -> (Class, String) {
    let config = config(&format!("{FAST_DB}{extra}"), &pairs(env));
    let check = MysqlCheck::new(&config.mysql);
    let observation = check.run().await;
    check.disconnect().await;
    (observation.class, observation.message)
}

#[tokio::test]
async fn a_fresh_user_passes_and_bad_settings_are_classified() {
    let db = TestDatabase::create("classify").await;
    let host = mysql_addr().to_string();
    let env = db.env(&host);
    assert_eq!(
        run_check(&env, "tls_mode = \"disabled\"").await.0,
        Class::Ok
    );
    assert_eq!(
        run_check(&env, "").await.0,
        Class::Ok,
        "preferred falls back to plain on a server without TLS"
    );

    let mut wrong_password = env.clone();
    wrong_password[2].1 = "wrong-password".into();
    let (class, message) = run_check(&wrong_password, "tls_mode = \"disabled\"").await;
    assert_eq!(class, Class::AccessDenied, "{message}");
    assert!(!message.contains("wrong-password"), "{message}");

    // With a grant on a database that does not exist, MariaDB says 1049 (without one, 1044).
    let missing = format!("{}_missing", db.name);
    db.execute(&format!("GRANT ALL ON `{missing}`.* TO '{}'@'%'", db.user))
        .await;
    let mut unknown_db = env.clone();
    unknown_db[3].1 = missing;
    assert_eq!(
        run_check(&unknown_db, "tls_mode = \"disabled\"").await.0,
        Class::UnknownDatabase
    );

    let closed = crate::support::closed_port().await;
    assert_eq!(
        run_check(&db.env(&closed.to_string()), "").await.0,
        Class::Unreachable
    );

    assert_eq!(
        run_check(&env, "tls_mode = \"disabled\"\ndeep_check = true")
            .await
            .0,
        Class::TablesMissing,
        "an empty database has no wp_options"
    );
    db.execute(&format!(
        "CREATE TABLE `{}`.wp_options (option_name VARCHAR(191), option_value TEXT)",
        db.name
    ))
    .await;
    db.execute(&format!(
        "INSERT INTO `{}`.wp_options VALUES ('siteurl', 'http://example')",
        db.name
    ))
    .await;
    assert_eq!(
        run_check(&env, "tls_mode = \"disabled\"\ndeep_check = true")
            .await
            .0,
        Class::Ok
    );
    db.drop_all().await;
}

#[tokio::test]
async fn the_unix_socket_form_of_db_host_works() {
    let socket = "/run/mysqld/mysqld.sock";
    assert!(
        std::path::Path::new(socket).exists(),
        "MariaDB's socket {socket} is missing: is MariaDB running?"
    );
    let db = TestDatabase::create("socket").await;
    let env = db.env(&format!("localhost:{socket}"));
    let (class, message) = run_check(&env, "tls_mode = \"disabled\"").await;
    assert_eq!(class, Class::Ok, "{message}");
    db.drop_all().await;
}

#[tokio::test]
async fn a_database_that_accepts_and_never_answers_times_out_and_probes_never_wait_for_it() {
    let (addr, _listener) = silent_listener().await;
    let db_env = vec![
        ("WORDPRESS_DB_HOST".to_string(), addr.to_string()),
        (
            "WORDPRESS_DB_PASSWORD".to_string(),
            "never-shown".to_string(),
        ),
    ];
    let (class, _) = run_check(&db_env, "").await;
    assert_eq!(class, Class::Timeout);

    let stand_in = StandIn::start(Behaviour::Answer(200, "ok".into())).await;
    let sidecar = Sidecar::start(config(&sidecar_toml(&stand_in.url(), ""), &pairs(&db_env))).await;
    let failing = eventually(Duration::from_secs(5), || async {
        sidecar
            .get("/readyz?verbose")
            .await
            .body
            .contains("did not answer within")
    })
    .await;
    assert!(
        failing,
        "the database check times out and readiness says so"
    );
    assert_eq!(
        sidecar.get("/livez").await.status,
        200,
        "a hanging database never fails liveness"
    );
    sidecar.stop().await.expect("stop");

    // Probes never wait for the database check: with its timeout far away, 20 are
    // answered while its connection is held, and it has still produced no result.
    let held = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let db_env = vec![(
        "WORDPRESS_DB_HOST".to_string(),
        listener.local_addr().expect("address").to_string(),
    )];
    let counting = held.clone();
    let _holder = tokio::spawn(async move {
        let mut streams = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            streams.push(stream);
            counting.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    });
    let toml = sidecar_toml(&stand_in.url(), "").replace(
        "[mysql]\ninterval = \"200ms\"\ntimeout = \"500ms\"",
        "[mysql]\ninterval = \"200ms\"\ntimeout = \"600s\"",
    );
    let sidecar = Sidecar::start(config(&toml, &pairs(&db_env))).await;
    assert!(
        eventually(Duration::from_secs(5), || async {
            held.load(std::sync::atomic::Ordering::SeqCst) >= 1
        })
        .await,
        "the database check connects to the silent listener"
    );
    for _ in 0..20 {
        let response = sidecar.get("/readyz?verbose").await;
        assert_eq!(response.status, 503, "{}", response.body);
    }
    let mysql = wp_sentinel::verdict::CheckName::Mysql;
    assert!(
        sidecar.board.snapshot().states[mysql].last.is_none(),
        "the database check is still waiting for its answer"
    );
    sidecar.stop().await.expect("stop");
}

#[tokio::test]
async fn a_database_outage_fails_readiness_only_and_recovers() {
    let db = TestDatabase::create("outage").await;
    let proxy = CutProxy::start(mysql_addr()).await;
    let env = db.env(&proxy.addr.to_string());
    let wordpress = StandIn::start(Behaviour::Answer(200, "ok".into())).await;
    let sidecar = Sidecar::start(config(
        &sidecar_toml(&wordpress.url(), "tls_mode = \"disabled\""),
        &pairs(&env),
    ))
    .await;
    assert!(
        eventually(Duration::from_secs(5), || async {
            sidecar.get("/readyz").await.status == 200
        })
        .await
    );

    // The database goes away; WordPress shows its database-error page, as it does.
    proxy.cut();
    wordpress.set(Behaviour::Answer(500, DATABASE_ERROR_PAGE.into()));
    let interval = Duration::from_millis(200);
    let not_ready = eventually(interval * 2 + Duration::from_millis(1500), || async {
        sidecar.get("/readyz").await.status == 503
    })
    .await;
    assert!(
        not_ready,
        "readiness fails within two intervals (plus the timeout)"
    );
    let mut liveness_failures = 0;
    for _ in 0..30 {
        if sidecar.get("/livez").await.status != 200 {
            liveness_failures += 1;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        liveness_failures, 0,
        "a database outage must never fail liveness"
    );
    let verbose = sidecar.get("/livez?verbose").await.body;
    assert!(verbose.contains("not WordPress's fault"), "{verbose}");

    proxy.restore().await;
    wordpress.set(Behaviour::Answer(200, "ok".into()));
    let ready = eventually(Duration::from_secs(5), || async {
        sidecar.get("/readyz").await.status == 200
    })
    .await;
    assert!(ready, "readiness recovers when the database comes back");
    sidecar.stop().await.expect("stop");
    db.drop_all().await;
}

#[tokio::test]
async fn database_errors_while_the_database_is_fine_fail_liveness() {
    // The seed's scenario as WordPress shows it: the database is fine with the desired
    // settings, yet WordPress cannot reach it (its wp-config.php says DB_HOST 'hoge').
    let db = TestDatabase::create("blame").await;
    let env = db.env(&mysql_addr().to_string());
    let wordpress = StandIn::start(Behaviour::Answer(200, "ok".into())).await;
    let sidecar = Sidecar::start(config(
        &sidecar_toml(&wordpress.url(), "tls_mode = \"disabled\""),
        &pairs(&env),
    ))
    .await;
    assert!(
        eventually(Duration::from_secs(5), || async {
            sidecar.get("/livez").await.status == 200
        })
        .await
    );
    wordpress.set(Behaviour::Answer(500, DATABASE_ERROR_PAGE.into()));
    let live_fails = eventually(Duration::from_secs(5), || async {
        sidecar.get("/livez").await.status == 503
    })
    .await;
    assert!(
        live_fails,
        "WordPress is blamed once the database re-check passes"
    );
    let verbose = sidecar.get("/livez?verbose").await.body;
    assert!(verbose.contains("WordPress itself is broken"), "{verbose}");
    sidecar.stop().await.expect("stop");
    db.drop_all().await;
}

#[tokio::test]
async fn access_denied_fails_readiness_and_holds_liveness_and_no_secret_leaks() {
    let db = TestDatabase::create("denied").await;
    let mut env = db.env(&mysql_addr().to_string());
    env[2].1 = "Sup3r-Secret-Pa55".into();
    let wordpress = StandIn::start(Behaviour::Answer(200, "ok".into())).await;
    let sidecar = Sidecar::start(config(
        &sidecar_toml(&wordpress.url(), "tls_mode = \"disabled\""),
        &pairs(&env),
    ))
    .await;
    assert!(
        eventually(Duration::from_secs(5), || async {
            sidecar
                .get("/readyz?verbose")
                .await
                .body
                .contains("Access denied")
        })
        .await
    );
    assert_eq!(sidecar.get("/livez").await.status, 200);
    let mut everything = String::new();
    for path in [
        "/readyz?verbose",
        "/livez?verbose",
        "/readyz?format=json",
        "/healthz?verbose",
        "/metrics",
        "/readyz/mysql?verbose",
    ] {
        everything.push_str(&sidecar.get(path).await.body);
    }
    assert!(
        everything.contains("access_denied") || everything.contains("Access denied"),
        "{everything}"
    );
    assert!(
        !everything.contains("Sup3r-Secret-Pa55"),
        "the password leaked: {everything}"
    );
    sidecar.stop().await.expect("stop");
    db.drop_all().await;
}

#[tokio::test]
async fn preferred_tls_settles_on_plain_text_with_a_server_without_tls() {
    // Regression: every run began with a TLS handshake the server aborted (660
    // Aborted_connects an hour at the default interval).
    let db = TestDatabase::create("preferred").await;
    let env = db.env(&mysql_addr().to_string());
    let config = config(FAST_DB, &pairs(&env));
    let check = MysqlCheck::new(&config.mysql);
    assert!(!check.settled_on_plain_text());
    for _ in 0..3 {
        let observation = check.run().await;
        assert_eq!(observation.class, Class::Ok, "{}", observation.message);
        assert!(
            check.settled_on_plain_text(),
            "after the first run it goes straight to plain text"
        );
    }
    check.disconnect().await;
    db.drop_all().await;
}

/// The ids of the connections `user` has open on the server right now.
async fn connection_ids(admin: &mysql_async::Pool, user: &str) -> Vec<u64> {
    use mysql_async::prelude::Queryable;
    let mut conn = admin.get_conn().await.expect("admin connection");
    conn.exec(
        "SELECT ID FROM information_schema.PROCESSLIST WHERE USER = ? ORDER BY ID",
        (user,),
    )
    .await
    .expect("read the process list")
}

/// Checks in a row at the defaults' pool settings: one connection, opened by the first
/// check and reused by every other, in plain text and with `preferred` (which meets a
/// server without TLS once, then stays in plain text).
#[tokio::test]
async fn checks_reuse_one_pooled_connection_and_open_no_new_one() {
    const CHECKS: usize = 25;
    let db = TestDatabase::create("reuse").await;
    let env = db.env(&mysql_addr().to_string());
    let admin = mysql_async::Pool::new(crate::support::admin_url().as_str());
    for mode in ["disabled", "preferred"] {
        let config = config(&format!("{FAST_DB}tls_mode = \"{mode}\""), &pairs(&env));
        let check = MysqlCheck::new(&config.mysql);
        let mut seen = Vec::new();
        for run in 0..CHECKS {
            let observation = check.run().await;
            assert_eq!(
                observation.class,
                Class::Ok,
                "{mode} run {run}: {}",
                observation.message
            );
            let ids = connection_ids(&admin, &db.user).await;
            assert_eq!(
                ids.len(),
                1,
                "{mode} run {run}: the check holds exactly one connection: {ids:?}"
            );
            seen.extend(ids);
        }
        seen.dedup();
        assert_eq!(
            seen.len(),
            1,
            "{mode}: {CHECKS} checks opened {} connections (ids {seen:?}); one is reused",
            seen.len()
        );
        check.disconnect().await;
        let closed = eventually(Duration::from_secs(5), || async {
            connection_ids(&admin, &db.user).await.is_empty()
        })
        .await;
        assert!(closed, "{mode}: disconnect closes the pooled connection");
    }
    let _ = admin.disconnect().await;
    db.drop_all().await;
}
