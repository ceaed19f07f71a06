//! Errors the user caused and can fix, printed the way kubectl prints them:
//! `error: the cause`, then what to do. Source locations and backtraces
//! only when RUST_BACKTRACE asks for them.

use color_eyre::eyre::Report;
use std::io::IsTerminal;

/// What is wrong, in plain words (with the cause: `connection refused`),
/// and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserError {
    pub cause: String,
    pub fix: Option<String>,
    /// A passing condition (a server restarting): trying again may help.
    pub transient: bool,
    /// The cluster could not be read (down, silent, overloaded), as opposed
    /// to a mistake in the command or its config: exit code 3, not 1.
    pub cannot_read: bool,
}

/// Exit code of a mistake the user can fix: a flag, the kubeconfig, a
/// context, the credentials.
pub const EXIT_MISTAKE: u8 = 1;
/// Exit code when the cluster could not be read: refused, silent beyond a
/// timeout, overloaded (429, 5xx). Scripts can tell "unknown" from "wrong".
pub const EXIT_CANNOT_READ: u8 = 3;

impl UserError {
    pub fn new(cause: impl Into<String>, fix: impl Into<String>) -> UserError {
        UserError {
            cause: cause.into(),
            fix: Some(fix.into()),
            transient: false,
            cannot_read: false,
        }
    }
}

/// The exit code for `report`: [`EXIT_CANNOT_READ`] when the cluster could
/// not be read, else [`EXIT_MISTAKE`].
pub fn exit_code(report: &Report) -> u8 {
    let cannot_read = report
        .chain()
        .filter_map(|e| e.downcast_ref::<UserError>())
        .any(|u| u.cannot_read);
    if cannot_read {
        EXIT_CANNOT_READ
    } else {
        EXIT_MISTAKE
    }
}

impl std::fmt::Display for UserError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.cause)
    }
}

impl std::error::Error for UserError {}

/// RUST_BACKTRACE (or RUST_LIB_BACKTRACE) asks for the full report.
pub fn verbose() -> bool {
    ["RUST_LIB_BACKTRACE", "RUST_BACKTRACE"]
        .iter()
        .any(|var| std::env::var_os(var).is_some_and(|v| !v.is_empty() && v != "0"))
}

/// Colour only on a terminal, and never under NO_COLOR.
fn stderr_in_colour() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// The report and panic hooks, for the full reports RUST_BACKTRACE asks for
/// (and for panics, which are bugs).
pub fn install_hooks() {
    use color_eyre::config::{HookBuilder, Theme};
    let theme = if stderr_in_colour() {
        Theme::dark()
    } else {
        Theme::new()
    };
    // A second install (tests, embedding) keeps the first hooks.
    let _ = HookBuilder::default()
        .theme(theme)
        .capture_span_trace_by_default(false)
        .install();
}

/// What to print on stderr for `report`: `error: …` and the fix, or the
/// full report with locations when [`verbose`].
pub fn render(report: &Report, verbose: bool) -> String {
    if verbose {
        return format!("{report:?}\n");
    }
    let (cause, fix) = cause_and_fix(report);
    let mut out = format!("error: {cause}\n");
    if let Some(fix) = fix {
        out.push_str(&fix);
        out.push('\n');
    }
    out
}

/// What went wrong in one plain line (each wrapper's words, down to the
/// user error), and the fix when there is one.
pub fn cause_and_fix(report: &Report) -> (String, Option<String>) {
    let mut causes: Vec<String> = Vec::new();
    let mut fix = None;
    for error in report.chain() {
        let text = plain(&error.to_string());
        // A wrapper that repeats its source says nothing new.
        if !causes.last().is_some_and(|last| last.contains(&text)) {
            causes.push(text);
        }
        if let Some(user) = error.downcast_ref::<UserError>() {
            fix = user.fix.as_deref().map(plain);
            break;
        }
    }
    (causes.join(": "), fix)
}

/// One line without control characters: a server's message cannot move
/// the cursor or colour the terminal.
fn plain(text: &str) -> String {
    let joined = text.lines().map(str::trim).collect::<Vec<_>>().join(" ");
    joined
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use color_eyre::eyre::WrapErr;

    #[test]
    fn a_user_error_prints_its_cause_and_fix_on_two_plain_lines() {
        let error = UserError::new(
            "context \"prod\" does not exist in /tmp/kubeconfig",
            "choose one of: a, b (kubectl config get-contexts)",
        );
        let report = Err::<(), _>(error)
            .wrap_err("connecting")
            .expect_err("an error");
        assert_eq!(
            render(&report, false),
            "error: connecting: context \"prod\" does not exist in /tmp/kubeconfig\n\
             choose one of: a, b (kubectl config get-contexts)\n"
        );
    }

    #[test]
    fn any_other_error_is_one_line_without_escapes() {
        let io = std::io::Error::other("bad\x1b[31m\nnews");
        let report = Err::<(), _>(io)
            .wrap_err("reading x")
            .expect_err("an error");
        assert_eq!(render(&report, false), "error: reading x: bad [31m news\n");
    }
}
