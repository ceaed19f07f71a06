//! Velero's objects: the demo's nightly backup read with kubectl, a
//! restore drill created with kubectl as the deployer, completed by the
//! simulator, and then the last tested restore `cutover status` reports.

use super::*;
use std::time::{Duration, Instant};

/// Poll `read` until it gives a value, within a generous deadline.
fn until<T>(what: &str, mut read: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(found) = read() {
            return found;
        }
        assert!(Instant::now() < deadline, "never: {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The `restore` part of payments' migration in `status -o json`.
fn payments_restore(status: &Value) -> Option<Value> {
    let releases = status["releases"].as_array()?;
    let payments = releases.iter().find(|r| r["name"] == "payments")?;
    Some(payments["migration"]["restore"].clone()).filter(|r| !r.is_null())
}

#[test]
fn a_restore_created_with_kubectl_completes_and_is_the_last_tested_restore() {
    let Some(kubectl) = kubectl_or_skip("velero_restore") else {
        return;
    };
    let sim = ServeProcess::start_with(&["--scenario", "default"]);
    let mut as_viewer = vec!["--context", "sim-viewer"];
    as_viewer.extend_from_slice(support::VELERO_BACKUPS);
    let backups = ok(&sim.kubectl(&kubectl, &as_viewer));
    let newest = backups
        .split_whitespace()
        .last()
        .expect("the demo's backups");
    let file = support::restore_drill(sim.dir.path(), "drill-now", newest);
    let file = file.as_str();
    let refused = sim.kubectl(&kubectl, &["--context", "sim-viewer", "create", "-f", file]);
    assert!(!refused.status.success(), "the viewer only reads");
    assert!(
        stderr_of(&refused).contains("forbidden"),
        "{}",
        stderr_of(&refused)
    );
    let created = ok(&sim.kubectl(
        &kubectl,
        &["--context", "sim-deployer", "create", "-f", file],
    ));
    assert_eq!(created.trim(), "restore.velero.io/drill-now created");
    until("the drill completes", || {
        let phase = sim.kubectl(
            &kubectl,
            &[
                "get",
                "restore",
                "drill-now",
                "-n",
                "velero",
                "-o",
                "jsonpath={.status.phase}",
            ],
        );
        (stdout_of(&phase) == "Completed").then_some(())
    });
    let velero = until(
        "status reports the drill as the last tested restore",
        || {
            let restore = payments_restore(&sim.status_json(&[], &[]))?;
            let velero = restore["velero"].clone();
            (velero["lastTestedRestore"]["name"] == "drill-now").then_some(velero)
        },
    );
    assert_eq!(velero["namespace"], "shop");
    assert_eq!(velero["lastTestedRestore"]["backupName"], newest);
    assert_eq!(velero["newestCompleted"]["name"], newest);
    assert_eq!(velero["schedules"][0]["schedule"], "0 2 * * *");
    assert_eq!(velero["alarms"], serde_json::json!([]), "{velero}");
}
