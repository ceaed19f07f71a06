//! The command line of `cutover gate`: its flags, its help with the exit
//! codes, and the options it runs with.

use super::{GateOptions, Paint};
use crate::cli::{ClusterArgs, UiArgs, plan_for_scripts, timeout_flag};
use crate::cluster::connect::ConnectOptions;
use crate::model::gate::{RequiredVerdict, Until};
use clap::Args;
use clap::builder::TypedValueParser;
use color_eyre::eyre::Result;

pub const ABOUT: &str = "Wait for one release in a pipeline: an Argo Rollout (canary or \
blue-green), a Flagger Canary or a Deployment. It is watched until it reaches the target, \
fails, or cutover's metrics verdict on it is Fail, or the timeout passes. A line is printed \
at each change of its phase, step, weights (desired/applied) or verdict; the exit code says \
how it ended. Nothing is changed in the cluster unless --abort-on-fail is given.";

pub const EXIT_CODES: &str = "Exit codes:
  0  the target is reached (and the verdict requirement holds)
  1  the release failed: Degraded, aborted, Flagger's Failed
  2  the timeout passed first (also: a mistake on the command line, such as a
     context of a list that does not exist)
  3  the release cannot be read: no connection, not found, forbidden, the watches
     failing when the timeout passed (or the audit file --abort-on-fail needs
     cannot be opened)
  4  cutover's metrics verdict is Fail, or the required verdict did not hold at the end,
     or (--until baked) an SLO was breached during the bake window

Across a fleet (--context a,b, --fleet NAME, --all-contexts) the release is judged in each
context on its own, every line names its cluster, and the last line says how each ended.
The exit code is the worst of theirs, from the worst: 1, 4, 3, 2, 0; a context that cannot
be read counts as 3.

--abort-on-fail sends the abort as the control room does (permission checked first, refused \
if the release changed since it was read, audited before and after, recorded as an Event), \
then exits 4; without the permission it sends nothing, says so and exits 4. In a fleet, only \
the clusters whose verdict is Fail are aborted, each through its own connection. With --read-only \
(or read_only in the config file) no client that can write is built: the Fail is reported, \
not aborted. With --until baked, a breach of an SLO during the bake window sends the \
rollback (undo to the previous revision) the same way.";

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GateOutput {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct GateArgs {
    /// The release: a Rollout, a Flagger Canary or a Deployment.
    pub name: String,
    /// Give up after this long (1s, 2m, 3h; a bare number is seconds),
    /// exit 2; 0: wait for as long as it takes.
    #[arg(long, value_parser = timeout_flag, default_value = "0")]
    pub timeout: std::time::Duration,
    /// What to wait for: healthy (fully promoted and healthy), paused
    /// (stopped at a pause that waits for a decision, not a timed one),
    /// promoted (Flagger's Succeeded; healthy for the other kinds), baked
    /// (finished, and its bake window ended with every SLO held).
    #[arg(long, default_value = "healthy",
          value_parser = clap::builder::PossibleValuesParser::new(Until::WORDS)
              .try_map(|w| w.parse::<Until>()))]
    pub until: Until,
    /// What cutover's metrics verdict must be: pass (measured and Pass),
    /// not-fail (anything but Fail, no metrics included), any (never decides).
    #[arg(long, default_value = "not-fail",
          value_parser = clap::builder::PossibleValuesParser::new(RequiredVerdict::WORDS)
              .try_map(|w| w.parse::<RequiredVerdict>()))]
    pub require_verdict: RequiredVerdict,
    /// When the verdict is Fail, abort the release (Argo Rollouts) before
    /// exiting 4; with --until baked, roll it back on an SLO breach.
    #[arg(long)]
    pub abort_on_fail: bool,
    /// One line per change (text), or one JSON object per line with the
    /// fields of `status -o json` and the event.
    #[arg(short = 'o', long, value_enum, default_value = "text")]
    pub output: GateOutput,
    /// Give up on a single request to the cluster after this long; 0: no limit.
    #[arg(long, value_parser = timeout_flag, default_value = "0")]
    pub request_timeout: std::time::Duration,
}

pub async fn gate(cluster: &ClusterArgs, ui: &UiArgs, args: &GateArgs) -> Result<u8> {
    use std::io::IsTerminal;
    let (plan, databases) = plan_for_scripts(ui)?;
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let base = ConnectOptions {
        request_timeout: Some(args.request_timeout).filter(|t| !t.is_zero()),
        max_answer_bytes: plan.config.kubernetes.max_answer_bytes(),
        ..cluster.options()
    };
    let config_file = crate::cli::config_path(ui);
    let fleet = match crate::fleet::plan(cluster, &base, &plan.config, &config_file) {
        Ok(fleet) => fleet,
        // A context of the list that does not exist, an unknown fleet: a
        // mistake on the command line, whose code is 2 as clap's.
        Err(mistake) => {
            let text = crate::user_error::render(&mistake.into(), crate::user_error::verbose());
            let _ = std::io::Write::write_all(&mut std::io::stderr(), text.as_bytes());
            return Ok(super::EXIT_TIMED_OUT);
        }
    };
    let options = GateOptions {
        name: args.name.clone(),
        timeout: Some(args.timeout).filter(|t| !t.is_zero()),
        until: args.until,
        required: args.require_verdict,
        abort_on_fail: args.abort_on_fail,
        read_only: ui.read_only || (plan.config.read_only && !ui.write),
        audit_path: ui
            .audit_file
            .clone()
            .unwrap_or_else(crate::paths::audit_file),
        json: args.output == GateOutput::Json,
        paint: if std::io::stdout().is_terminal() && !no_color {
            Paint::Colour
        } else {
            Paint::Plain
        },
        glyphs: crate::cli::glyphs(ui, plan.config.glyphs),
        metrics: plan,
        databases,
    };
    super::run(options, fleet.contexts, fleet.fleet).await
}
