//! The demo scenario end to end, driven and observed by the real kubectl:
//! at ten times speed, `checkout` walks its steps and waits at its manual
//! pause until promoted, `search` fails its Flagger analysis on its own and
//! `frontend` finishes its rolling update.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::{ServeProcess, require_program, stderr_of, stdout_of};

/// Bounds a wait that would otherwise hang; not a timing assertion.
const PATIENCE: Duration = Duration::from_secs(240);

fn wait_for(
    sim: &ServeProcess,
    kubectl: &std::path::Path,
    args: &[&str],
    want: impl Fn(&str) -> bool,
) -> String {
    let start = Instant::now();
    loop {
        let out = sim.kubectl(kubectl, args);
        let text = stdout_of(&out);
        if out.status.success() && want(&text) {
            return text;
        }
        assert!(
            start.elapsed() < PATIENCE,
            "gave up waiting on `kubectl {}`: last saw {text:?} {}",
            args.join(" "),
            stderr_of(&out)
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[test]
fn the_demo_scenario_plays_out() {
    let Some(kubectl) = require_program("kubectl", "the_demo_scenario_plays_out") else {
        return;
    };
    let sim = ServeProcess::start_with(&["--scenario", "default", "--time-scale", "10"]);

    // Watch the Flagger canary's phases as kubectl prints them.
    let mut watch = Command::new(&kubectl)
        .args([
            "get",
            "canary",
            "search",
            "-n",
            "shop",
            "-w",
            "-o",
            "jsonpath={.status.phase}{\"\\n\"}",
        ])
        .env("KUBECONFIG", &sim.kubeconfig)
        .env("HOME", sim.dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("kubectl get canary -w");
    let stdout = watch.stdout.take().unwrap();
    let phases = std::thread::spawn(move || {
        let mut seen: Vec<String> = Vec::new();
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let phase = line.trim().to_string();
            if seen.last() != Some(&phase) {
                seen.push(phase.clone());
            }
            if phase == "Failed" {
                break;
            }
        }
        seen
    });

    // checkout: through the timed pause and the analysis to the manual pause.
    let rollout = |path: &str| {
        ["get", "rollout", "checkout", "-n", "shop", "-o"]
            .into_iter()
            .map(str::to_string)
            .chain([format!("jsonpath={path}")])
            .collect::<Vec<_>>()
    };
    let args = rollout("{.status.phase} {.status.message} {.status.currentStepIndex}");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    wait_for(&sim, &kubectl, &args, |t| t == "Paused CanaryPauseStep 4");
    let analysis = stdout_of(&sim.kubectl(
        &kubectl,
        &[
            "get",
            "analysisruns",
            "-n",
            "shop",
            "-o",
            "jsonpath={.items[*].status.phase}",
        ],
    ));
    assert_eq!(analysis.trim(), "Successful", "the analysis step passed");

    sim.promote_from_pause(&kubectl, "checkout");
    let args = rollout("{.status.phase} {.status.stableRS} {.status.currentPodHash}");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let healthy = wait_for(&sim, &kubectl, &args, |t| t.starts_with("Healthy "));
    let parts: Vec<&str> = healthy.split_whitespace().collect();
    assert_eq!(
        parts[1], parts[2],
        "fully promoted: stableRS == currentPodHash"
    );

    // frontend: kubectl's own rollout status waits for the rolling update.
    let status = sim.kubectl(
        &kubectl,
        &[
            "rollout",
            "status",
            "deploy/frontend",
            "-n",
            "shop",
            "--timeout=240s",
        ],
    );
    assert!(status.status.success(), "{}", stderr_of(&status));
    assert!(stdout_of(&status).contains("successfully rolled out"));

    // search: the canary turned bad and Flagger rolled it back by itself.
    wait_for(
        &sim,
        &kubectl,
        &[
            "get",
            "canary",
            "search",
            "-n",
            "shop",
            "-o",
            "jsonpath={.status.phase}",
        ],
        |t| t == "Failed",
    );
    let seen = phases.join().expect("watch thread");
    let _ = watch.kill();
    let _ = watch.wait();
    assert_eq!(seen.last().map(String::as_str), Some("Failed"), "{seen:?}");
    assert!(
        seen.iter().any(|p| p == "Progressing"),
        "the watch saw it progress first: {seen:?}"
    );
    let events = stdout_of(&sim.kubectl(
        &kubectl,
        &[
            "get",
            "events",
            "-n",
            "shop",
            "--field-selector",
            "involvedObject.kind=Canary,involvedObject.name=search",
            "-o",
            "jsonpath={.items[*].message}",
        ],
    ));
    assert!(
        events.contains("Rolling back search.shop failed checks threshold reached"),
        "{events}"
    );
}
