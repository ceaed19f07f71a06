//! The command line: subcommands and kubectl-style flags.
//!
//! The commands on the simulated cluster (`demo`, `sim …`) are parsed here
//! but run by the binary (see [`SimCommands`]): the library does not depend
//! on the simulator.

use crate::app::board::BoardSettings;
use crate::app::run::{InProcessTraffic, MetricsPlan, Options};
use crate::app::state::ConfigProblems;
use crate::cluster::answer_limit::DEFAULT_MAX_ANSWER_BYTES;
use crate::cluster::connect::ConnectOptions;
use crate::config::GlyphsSetting;
use crate::fleet::ContextPlan;
use crate::signals::QuitSignal;
use crate::ui::glyphs::Glyphs;
use crate::ui::theme::{ThemeLibrary, ThemeSettings, Themes};
use clap::{Args, Parser, Subcommand};
use color_eyre::eyre::{Result, WrapErr, eyre};
use std::path::PathBuf;
use std::process::ExitCode;

mod demo_args;
mod sim_args;

pub use demo_args::{DemoArgs, DemoPlan};
pub use sim_args::ServeArgs;

#[derive(Debug, Parser)]
#[command(
    name = "cutover",
    version,
    about = "A terminal control room for zero-downtime releases"
)]
pub struct Cli {
    /// Where to write the log (the terminal is the UI's).
    #[arg(long, global = true, env = "CUTOVER_LOG_FILE")]
    pub log_file: Option<PathBuf>,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    #[command(flatten)]
    pub ui: UiArgs,
    /// Without a command: the control room.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Where to connect, as kubectl takes it.
#[derive(Debug, Clone, Args)]
pub struct ClusterArgs {
    /// The kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then in-cluster).
    #[arg(long, global = true)]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context (default: the current context); a comma list
    /// (a,b,c) reads several at once, a fleet.
    #[arg(long, global = true, value_name = "NAME[,NAME…]")]
    pub context: Option<String>,
    /// Every context of the kubeconfig, as a fleet.
    #[arg(long, global = true, conflicts_with_all = ["context", "fleet"])]
    pub all_contexts: bool,
    /// The contexts of the config file's [fleets.NAME], as a fleet.
    #[arg(long, global = true, value_name = "NAME", conflicts_with = "context")]
    pub fleet: Option<String>,
    /// The namespace (default: the context's).
    #[arg(short = 'n', long, global = true)]
    pub namespace: Option<String>,
    /// Every namespace.
    #[arg(short = 'A', long, global = true, conflicts_with = "namespace")]
    pub all_namespaces: bool,
}

impl ClusterArgs {
    pub(crate) fn options(&self) -> ConnectOptions {
        ConnectOptions {
            kubeconfig: self.kubeconfig.clone(),
            context: self.context.clone(),
            namespace: self.namespace.clone(),
            all_namespaces: self.all_namespaces,
            request_timeout: None,
            max_answer_bytes: DEFAULT_MAX_ANSWER_BYTES,
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct UiArgs {
    /// Never change the cluster: no client that can write is built.
    #[arg(long, global = true)]
    pub read_only: bool,
    /// Allow actions even when the config file says read_only.
    #[arg(long, global = true, conflicts_with = "read_only")]
    pub write: bool,
    /// The theme, over the config file's in every context: built in
    /// (default, light, high-contrast, colour-blind, ansi16, mono), one of
    /// yours by name ($XDG_CONFIG_HOME/cutover/themes/NAME.toml), or a theme
    /// file's path. NO_COLOR forces mono.
    #[arg(long, global = true, value_name = "NAME|PATH")]
    pub theme: Option<String>,
    /// Draw with plain ASCII (the default when the locale is not UTF-8 or
    /// TERM=dumb).
    #[arg(long, global = true, conflicts_with = "unicode")]
    pub ascii: bool,
    /// Draw with Unicode whatever the locale says.
    #[arg(long, global = true)]
    pub unicode: bool,
    /// The config file (default: $XDG_CONFIG_HOME/cutover/config.toml).
    #[arg(long, global = true, env = "CUTOVER_CONFIG")]
    pub config: Option<PathBuf>,
    /// The audit file (default: $XDG_STATE_HOME/cutover/audit.jsonl).
    #[arg(long, global = true, env = "CUTOVER_AUDIT_FILE")]
    pub audit_file: Option<PathBuf>,
    /// The Prometheus API (with any path prefix), over the config file's for every context.
    #[arg(long, global = true, env = "CUTOVER_PROMETHEUS_URL")]
    pub prometheus: Option<String>,
    /// A database to read migrations from, as NAME=postgres://user@host:port/db
    /// (repeatable; passwords from PGPASSWORD or a password file, never here).
    #[arg(long = "database", global = true, value_name = "NAME=URL")]
    pub databases: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The control room on the embedded simulated cluster: nothing else needed.
    Demo(DemoArgs),
    /// The board for a team screen: read-only, no cursor; a spotlight that
    /// cycles through the releases in flight, the outcomes of the day, and a
    /// banner across the screen when the data goes stale.
    Watch(WatchArgs),
    /// Print every release once (for scripts and checks).
    Status(StatusArgs),
    /// Wait for one release in a pipeline: until it reaches the target,
    /// fails, or the timeout passes; the exit code says which.
    #[command(long_about = crate::gate::command::ABOUT, after_help = crate::gate::command::EXIT_CODES)]
    Gate(crate::gate::command::GateArgs),
    /// The simulated cluster.
    #[command(subcommand)]
    Sim(SimCommand),
    /// The config file.
    #[command(subcommand)]
    Config(ConfigCommand),
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// List every mistake in the config file with its line and column, the
    /// cause and the fix; exit 1 if there is any.
    Check,
}

#[derive(Debug, Args)]
pub struct WatchArgs {
    /// Move the spotlight to the next release needing attention (then the
    /// next in flight) this often (20s, 1m; a bare number is seconds); 0:
    /// never. Space pauses it, ←/→ move it by hand.
    #[arg(long, value_parser = duration_flag, default_value = "20s")]
    pub cycle: std::time::Duration,
    /// Say so across the whole screen when the data is older than this.
    #[arg(long, value_parser = duration_flag, default_value = "30s")]
    pub stale_after: std::time::Duration,
}

impl WatchArgs {
    fn settings(&self) -> BoardSettings {
        let delta = |d: std::time::Duration| {
            chrono::TimeDelta::from_std(d).unwrap_or(chrono::TimeDelta::MAX)
        };
        BoardSettings {
            cycle: Some(delta(self.cycle)).filter(|c| !c.is_zero()),
            stale_after: delta(self.stale_after),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    Table,
    Json,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Only this release.
    pub name: Option<String>,
    #[arg(short = 'o', long, value_enum, default_value = "table")]
    pub output: OutputFormat,
    /// Give up on a single request to the cluster after this long (1s, 2m,
    /// 3h; a bare number is seconds), as kubectl's flag; 0: no limit.
    #[arg(long, value_parser = timeout_flag, default_value = "0")]
    pub request_timeout: std::time::Duration,
    /// Give up on the whole report after this long: connecting, reading the
    /// cluster, the metrics and the databases; 0: no limit.
    #[arg(long, value_parser = timeout_flag, default_value = "15s")]
    pub timeout: std::time::Duration,
}

fn duration_flag(text: &str) -> Result<std::time::Duration, String> {
    crate::time::parse_timeout(text).ok_or_else(|| {
        "a duration is a whole number of seconds, or a number with a unit (20s, 1m, 1h)".into()
    })
}

pub(crate) fn timeout_flag(text: &str) -> Result<std::time::Duration, String> {
    crate::time::parse_timeout(text).ok_or_else(|| {
        "a timeout is a whole number of seconds, or a number with a unit (1s, 2m, 3h)".into()
    })
}

#[derive(Debug, Subcommand)]
pub enum SimCommand {
    /// Serve the simulated Kubernetes API until SIGINT, SIGTERM or SIGHUP.
    Serve(Box<ServeArgs>),
    /// List the built-in scenarios.
    Scenarios,
}

impl Cli {
    /// Whether this command opens the control room, which draws on the terminal.
    fn opens_control_room(&self) -> bool {
        matches!(
            self.command,
            None | Some(Command::Watch(_)) | Some(Command::Demo(_))
        )
    }
}

/// Why the control room cannot draw here, when stdin or stdout is not a
/// terminal (a pipe, a file, cron).
fn not_a_terminal() -> Option<&'static str> {
    use std::io::IsTerminal;
    match (
        std::io::stdin().is_terminal(),
        std::io::stdout().is_terminal(),
    ) {
        (true, true) => None,
        (false, true) => Some("stdin is not a terminal"),
        (true, false) => Some("stdout is not a terminal"),
        (false, false) => Some("stdin and stdout are not terminals"),
    }
}

/// The program: run the command (those on the simulated cluster through
/// `sim`) and print what went wrong the way kubectl does. Exit code 1 for a
/// mistake, 2 for the control room without a terminal, 3 when the cluster
/// cannot be read.
pub fn main(cli: Cli, sim: &impl SimCommands) -> ExitCode {
    crate::user_error::install_hooks();
    if cli.opens_control_room()
        && let Some(why) = not_a_terminal()
    {
        eprintln!(
            "error: the control room needs a terminal ({why}); for scripts, use cutover status (or cutover status -o json)"
        );
        return ExitCode::from(2);
    }
    let gate = matches!(cli.command, Some(Command::Gate(_)));
    match run(cli, sim) {
        Ok(code) => code,
        // Already said on stdout: only the exit code is left.
        Err(report) if report.downcast_ref::<ConfigHasProblems>().is_some() => ExitCode::FAILURE,
        Err(report) => {
            let verbose = crate::user_error::verbose();
            let text = crate::user_error::render(&report, verbose);
            // Not eprint!, which panics when stderr is a terminal that is gone.
            let _ = std::io::Write::write_all(&mut std::io::stderr(), text.as_bytes());
            // A gate's codes are its own: whatever stops it from reading
            // the release is 3.
            ExitCode::from(if gate {
                crate::gate::EXIT_CANNOT_READ
            } else {
                crate::user_error::exit_code(&report)
            })
        }
    }
}

/// Run the command; its exit code is 0, or 128 plus the number of the
/// signal that ended it (see [`crate::signals`]).
pub fn run(cli: Cli, sim: &impl SimCommands) -> Result<ExitCode> {
    let log_path = cli.log_file.clone().unwrap_or_else(crate::paths::log_file);
    let _guard = crate::logging::init(&log_path)?;
    let runtime = tokio::runtime::Runtime::new().wrap_err("starting the async runtime")?;
    if let Some(Command::Gate(args)) = &cli.command {
        let code = runtime.block_on(crate::gate::command::gate(&cli.cluster, &cli.ui, args))?;
        return Ok(ExitCode::from(code));
    }
    let ended_by = runtime.block_on(async {
        match cli.command {
            Some(Command::Sim(SimCommand::Serve(args))) => sim.serve(*args).await,
            Some(Command::Sim(SimCommand::Scenarios)) => sim.list_scenarios().map(|()| None),
            Some(Command::Demo(args)) => sim.demo(args, &cli.ui).await,
            Some(Command::Status(args)) => {
                status(&cli.cluster, &cli.ui, &args).await.map(|()| None)
            }
            Some(Command::Gate(_)) => unreachable!("run above"),
            Some(Command::Watch(args)) => {
                let shown = shown(&cli.cluster, &cli.ui)?;
                control_room(shown, &cli.ui, Some(args.settings()), Vec::new()).await
            }
            Some(Command::Config(ConfigCommand::Check)) => config_check(&cli.ui).map(|()| None),
            None => control_room(shown(&cli.cluster, &cli.ui)?, &cli.ui, None, Vec::new()).await,
        }
    })?;
    Ok(crate::signals::exit_code(ended_by))
}

/// The flags, else the config file, else what the locale and TERM say.
pub(crate) fn glyphs(ui: &UiArgs, setting: GlyphsSetting) -> Glyphs {
    match (ui.ascii, ui.unicode, setting) {
        (true, _, _) => Glyphs::Ascii,
        (_, true, _) => Glyphs::Unicode,
        (_, _, GlyphsSetting::Ascii) => Glyphs::Ascii,
        (_, _, GlyphsSetting::Unicode) => Glyphs::Unicode,
        (_, _, GlyphsSetting::Auto) => Glyphs::for_environment(|name| std::env::var(name).ok()),
    }
}

/// The config file the flags name, else the default one.
pub(crate) fn config_path(ui: &UiArgs) -> PathBuf {
    ui.config.clone().unwrap_or_else(crate::paths::config_file)
}

/// The contexts the control room shows, as the flags choose them: one,
/// or a fleet's.
fn shown(cluster: &ClusterArgs, ui: &UiArgs) -> Result<Vec<ContextPlan>> {
    let plan = crate::fleet::shown(cluster, cluster.options(), &config_path(ui), &ui.databases)?;
    Ok(plan.contexts)
}

/// The config file, each of its problems logged.
fn load_config(ui: &UiArgs) -> crate::config::Loaded {
    let loaded = crate::config::load(&config_path(ui), &ui.databases);
    for line in loaded.report() {
        tracing::warn!("config problem: {line}");
    }
    loaded
}

/// `cutover config check` found problems, or no file where one was named.
#[derive(Debug)]
struct ConfigHasProblems;

impl std::fmt::Display for ConfigHasProblems {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the config file has problems")
    }
}

impl std::error::Error for ConfigHasProblems {}

/// `cutover config check`, like `promtool check config`: every problem on
/// stdout as `FILE:LINE:COL: problem: fix`, then a summary.
fn config_check(ui: &UiArgs) -> Result<()> {
    let loaded = load_config(ui);
    let file = loaded.path.display();
    for line in loaded.report() {
        write_out(&format!("{line}\n"))?;
    }
    let clean = match (loaded.found, loaded.problems.len()) {
        (false, _) if ui.config.is_some() => {
            write_out(&format!("config {file}: no such file\n"))?;
            false
        }
        (false, _) => {
            write_out(&format!(
                "config {file}: no such file; the built-in defaults are used\n"
            ))?;
            true
        }
        (true, 0) => {
            write_out(&format!("config {file}: OK\n"))?;
            true
        }
        (true, n) => {
            write_out(&format!(
                "config {file}: {n} problem{}\n",
                if n == 1 { "" } else { "s" }
            ))?;
            false
        }
    };
    if clean {
        Ok(())
    } else {
        Err(ConfigHasProblems.into())
    }
}

/// The commands on the simulated cluster, which the library parses but
/// cannot run: only the binary (the composition root, `src/sim_commands/`)
/// depends on the simulator, so the library's layers cannot name it.
pub trait SimCommands {
    /// `cutover demo`: the simulated cluster in-process, and the control room on it.
    fn demo(&self, args: DemoArgs, ui: &UiArgs)
    -> impl Future<Output = Result<Option<QuitSignal>>>;
    /// `cutover sim serve`, until a signal.
    fn serve(&self, args: ServeArgs) -> impl Future<Output = Result<Option<QuitSignal>>>;
    /// `cutover sim scenarios`.
    fn list_scenarios(&self) -> Result<()>;
}

/// The control room on the clusters `contexts` reach (one, or a fleet's),
/// or with `board` the read-only board of `cutover watch`; `in_process`
/// measures without a Prometheus (the demo's simulated traffic, by context).
pub async fn control_room(
    contexts: Vec<ContextPlan>,
    ui: &UiArgs,
    board: Option<BoardSettings>,
    in_process: InProcessTraffic,
) -> Result<Option<QuitSignal>> {
    // A missing kubeconfig or an unknown context is said here, as kubectl
    // says it, not on a screen that keeps retrying.
    for context in &contexts {
        crate::cluster::connect::resolve(&context.connect).await?;
    }
    let loaded = load_config(ui);
    let config_problems = ConfigProblems {
        file: loaded.path.display().to_string(),
        problems: loaded.problems.iter().map(ToString::to_string).collect(),
    };
    let (config, keymap) = (loaded.config, loaded.keymap);
    let mut warnings = Vec::new();
    let settings = ThemeSettings {
        flag: ui.theme.as_deref(),
        no_color: std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()),
        ..config.theme_settings()
    };
    let (themes, theme_warnings) = Themes::choose(
        &ThemeLibrary::installed(),
        &settings,
        glyphs(ui, config.glyphs),
    );
    warnings.extend(theme_warnings);
    let databases = config.databases(&ui.databases).unwrap_or_else(|e| {
        warnings.push(e);
        Vec::new()
    });
    // Rows name their cluster only when more than one is shown.
    let fleet = contexts.len() > 1;
    let options = Options {
        contexts: contexts
            .into_iter()
            .map(|c| {
                let cluster = if fleet { c.short_name() } else { String::new() };
                let connect = ConnectOptions {
                    max_answer_bytes: config.kubernetes.max_answer_bytes(),
                    ..c.connect
                };
                (connect, cluster)
            })
            .collect(),
        read_only: board.is_some() || ui.read_only || (config.read_only && !ui.write),
        board,
        simulated: !in_process.is_empty(),
        themes,
        keymap,
        warnings,
        config_problems,
        audit_path: ui
            .audit_file
            .clone()
            .unwrap_or_else(crate::paths::audit_file),
        database_links: config.links.clone(),
        databases,
        metrics: MetricsPlan {
            config,
            prometheus_url: ui.prometheus.clone(),
            in_process,
        },
    };
    crate::app::run::run(options).await
}

async fn status(cluster: &ClusterArgs, ui: &UiArgs, args: &StatusArgs) -> Result<()> {
    let (plan, databases) = plan_for_scripts(ui)?;
    let options = ConnectOptions {
        request_timeout: Some(args.request_timeout).filter(|t| !t.is_zero()),
        max_answer_bytes: plan.config.kubernetes.max_answer_bytes(),
        ..cluster.options()
    };
    let deadline = Some(args.timeout).filter(|t| !t.is_zero());
    // The table is for a terminal: in its locale's characters. JSON is UTF-8.
    let glyphs = glyphs(ui, plan.config.glyphs);
    let fleet = crate::fleet::plan(cluster, &options, &plan.config, &config_path(ui))?;
    let name = args.name.as_deref();
    if fleet.fleet {
        let report =
            crate::status::fleet_report(&fleet, deadline, name, ui.read_only, &plan, &databases)
                .await?;
        match args.output {
            OutputFormat::Json => write_json(&report)?,
            OutputFormat::Table => write_out(&glyphs.text(&crate::status::fleet_table(&report)))?,
        }
        return match report.unread() {
            Some(unread) => Err(unread.into()),
            None => Ok(()),
        };
    }
    let report = crate::status::report(&options, deadline, name, ui.read_only, &plan, &databases)
        .await?
        .named(name)?;
    match args.output {
        OutputFormat::Json => write_json(&report)?,
        OutputFormat::Table => write_out(&glyphs.text(&crate::status::table(&report)))?,
    }
    Ok(())
}

fn write_json(value: &impl serde::Serialize) -> Result<()> {
    write_out(&format!("{}\n", serde_json::to_string_pretty(value)?))?;
    Ok(())
}

/// The metrics plan and databases of the config file and flags, its
/// problems said on stderr, as `status` and `gate` read them.
pub(crate) fn plan_for_scripts(ui: &UiArgs) -> Result<(MetricsPlan, crate::status::Databases)> {
    let loaded = load_config(ui);
    for line in loaded.report() {
        eprintln!("{line}");
    }
    let plan = MetricsPlan {
        config: loaded.config,
        prometheus_url: ui.prometheus.clone(),
        in_process: Vec::new(),
    };
    let databases = crate::status::Databases {
        configs: plan.config.databases(&ui.databases).map_err(|e| eyre!(e))?,
        links: plan.config.links.clone(),
    };
    Ok((plan, databases))
}

/// Write `text` to standard output. A reader gone away (`| head`) ends
/// the program as it ends any Unix tool, quietly and with the status a
/// SIGPIPE gives (141), instead of a crash report.
pub fn write_out(text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let written = out.write_all(text.as_bytes()).and_then(|()| out.flush());
    if let Err(e) = &written
        && e.kind() == std::io::ErrorKind::BrokenPipe
    {
        std::process::exit(141);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::Cli;
    use clap::CommandFactory;

    #[test]
    fn the_theme_flag_names_every_built_in_theme() {
        let command = Cli::command();
        let flag = command
            .get_arguments()
            .find(|a| a.get_id() == "theme")
            .expect("--theme");
        let help = flag.get_help().expect("its help").to_string();
        for name in crate::ui::theme::Theme::names() {
            assert!(help.contains(name), "--theme's help names {name}: {help}");
        }
    }
}
