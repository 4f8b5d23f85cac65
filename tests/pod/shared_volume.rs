//! The article's edit with the default manifests' layout: the docroot on an emptyDir
//! shared by both containers, heal policy `restore`. The sidecar, running as uid 33
//! with a read-only root file system and no capability, writes the golden copy back:
//! owner and mode of `wp-config.php` kept, the drifted file kept aside (the
//! manifests set no `heal.forensics_dir`: beside it, under a name Apache does not
//! serve), WordPress serving again, and no restart at all.

use std::os::unix::fs::MetadataExt;
use std::time::Duration;

use crate::stage::*;
use crate::support::Layout;

fn owner_and_mode(path: &std::path::Path) -> (u32, u32, u32) {
    let meta = std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (meta.uid(), meta.gid(), meta.mode() & 0o7777)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_on_the_shared_volume_heals_as_uid_33_without_a_restart() {
    let stage = Stage::start(Setup::new("restore", scale(0.2), Layout::SharedVolume)).await;
    stage.pass(20.0).await;
    let docroot = stage.docroot();
    let file = docroot.join("wp-config.php");
    let before = owner_and_mode(&file);
    stage.check(
        before.0 == 33 && before.1 == 33,
        &format!("the entrypoint's wp-config.php is not 33:33: {before:?}"),
    );
    let golden = std::fs::read(crate::support::repo().join(GOLDEN)).expect("the golden copy");

    let edit = stage
        .kubelet
        .mark("podman exec wordpress sed -i: DB_HOST -> 'hoge' (shared volume)");
    stage.exec_sed(SED_DB_HOST_HOGE);
    stage
        .wait_file_is(
            &file,
            &golden,
            Duration::from_secs(15),
            "the sidecar writing the golden copy back",
        )
        .await;
    let restored = stage.kubelet.mark("wp-config.php equals the golden copy");
    let after = owner_and_mode(&file);
    stage.check(
        after == before,
        &format!("owner and mode changed by the restore: {before:?} -> {after:?}"),
    );
    let forensic: Vec<_> = std::fs::read_dir(&docroot)
        .expect("read the docroot")
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(".ht-wp-sentinel-wp-config.php.drifted-")
        })
        .collect();
    stage.check(
        forensic.len() == 1,
        &format!(
            "expected one forensic copy in the docroot, found {}",
            forensic.len()
        ),
    );
    let kept = std::fs::read_to_string(forensic[0].path()).unwrap_or_default();
    stage.check(
        kept.contains("'hoge'"),
        "the forensic copy is not the drifted file",
    );
    let (_, _, kept_mode) = owner_and_mode(&forensic[0].path());
    stage.check(
        kept_mode == 0o600,
        &format!("forensic copy mode {kept_mode:o}"),
    );
    let (status, _) = testkit::http::http_get(
        stage.wordpress_addr,
        &format!("/{}", forensic[0].file_name().to_string_lossy()),
    )
    .await
    .unwrap_or((0, String::new()));
    stage.check(
        status == 403,
        &format!("Apache served the forensic copy: {status}"),
    );

    let serving = stage.ok(stage.wait_wordpress(200, Duration::from_secs(15)).await);
    stage
        .wait_ready(Duration::from_secs(20), "ready after the restore")
        .await;
    stage.pass(40.0).await;
    stage.check_no_restart(edit, "restore must heal without a restart");
    stage.check(stage.kubelet.ready(), "the pod is not ready at the end");
    let timeline = stage
        .finish("pod: the article's edit on the shared volume, policy restore")
        .await;
    println!(
        "edit -> golden copy back: {}\nedit -> WordPress 200: {}\nrestarts: 0, owner and mode {:?}",
        span(&timeline, edit, restored),
        span(&timeline, edit, serving),
        after
    );
}
