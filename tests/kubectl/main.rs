//! The real kubectl against `cutover sim serve`: whatever kubectl does
//! against the simulated cluster must work as it does against a real one.

#[path = "../support/mod.rs"]
mod support;

mod access;
mod reading;
mod sim_server;
mod validation;
mod velero;
mod writing;

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use support::{PAUSE_CHECKOUT, ServeProcess, require_program, stderr_of, stdout_of};

fn kubectl_or_skip(test: &str) -> Option<std::path::PathBuf> {
    require_program("kubectl", test)
}

fn ok(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "kubectl failed: {}\n{}",
        stdout_of(out),
        stderr_of(out)
    );
    stdout_of(out)
}

/// The value of `jsonpath` on one object in namespace shop.
fn get_path(
    sim: &ServeProcess,
    kubectl: &std::path::Path,
    object: &[&str],
    jsonpath: &str,
) -> String {
    let mut args = vec!["get"];
    args.extend_from_slice(object);
    args.extend(["-n", "shop", "-o"]);
    let jsonpath = format!("jsonpath={jsonpath}");
    args.push(&jsonpath);
    ok(&sim.kubectl(kubectl, &args))
}
