//! The alert sinks, run beside the main loop: the terminal's bytes are
//! handed to the loop to write between frames; a command and each webhook
//! run as tasks of their own, so a hanging receiver never holds the
//! screen. Each attempt's result comes back as [`Msg::AlertSink`], named
//! as the header says it, never by a URL.

use super::body::{command_argv, command_env, json_body, slack_body, terminal_bytes};
use crate::app::update::Msg;
use crate::config::Config;
use crate::config::alerts::{AlertSettings, BodyFormat, CommandSink, WebhookSink};
use crate::model::alert::Alert;
use chrono::Utc;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};

/// After a failed attempt, a webhook is tried again this many times.
pub const RETRIES: u32 = 3;

/// The wait before retry `n` (from 0): 1s, 2s, 4s …, at most 30s.
pub fn backoff(n: u32) -> Duration {
    Duration::from_secs(1u64 << n.min(5)).min(Duration::from_secs(30))
}

/// Every context's sinks, and the terminal's bytes waiting for the loop.
pub struct AlertSinks {
    config: Arc<Config>,
    tx: UnboundedSender<Msg>,
    /// The board (`cutover watch`): the terminal is off unless asked for.
    board: bool,
    in_tmux: bool,
    settings: BTreeMap<String, Arc<AlertSettings>>,
    /// One queue per webhook: its alerts go in order, one at a time.
    webhooks: Vec<(WebhookSink, UnboundedSender<Alert>)>,
    client: Option<reqwest::Client>,
    terminal: Vec<u8>,
}

impl AlertSinks {
    pub fn new(config: Arc<Config>, board: bool, tx: UnboundedSender<Msg>) -> AlertSinks {
        AlertSinks {
            config,
            tx,
            board,
            in_tmux: std::env::var_os("TMUX").is_some_and(|v| !v.is_empty()),
            settings: BTreeMap::new(),
            webhooks: Vec::new(),
            client: None,
            terminal: Vec::new(),
        }
    }

    fn settings(&mut self, context: &str) -> Arc<AlertSettings> {
        let config = &self.config;
        self.settings
            .entry(context.to_string())
            .or_insert_with(|| Arc::new(config.alerts_for(context)))
            .clone()
    }

    /// Send `alert` to every sink of its context; nothing here waits.
    pub fn send(&mut self, alert: &Alert) {
        let settings = self.settings(&alert.key.context);
        if settings.terminal.unwrap_or(!self.board) {
            let bytes = terminal_bytes(alert, settings.notification, self.in_tmux);
            self.terminal.extend(bytes);
        }
        if let Some(command) = &settings.command {
            tokio::spawn(run_command(command.clone(), alert.clone(), self.tx.clone()));
        }
        for webhook in &settings.webhooks {
            let queue = self.queue(webhook);
            let _ = queue.send(alert.clone());
        }
    }

    /// The terminal's bytes since the last call, for the loop to write
    /// between two frames.
    pub fn take_terminal(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.terminal)
    }

    fn queue(&mut self, webhook: &WebhookSink) -> UnboundedSender<Alert> {
        if let Some((_, queue)) = self.webhooks.iter().find(|(w, _)| w == webhook) {
            return queue.clone();
        }
        let client = self.client.get_or_insert_with(http_client).clone();
        let (queue, mut alerts) = unbounded_channel::<Alert>();
        let (sink, tx) = (webhook.clone(), self.tx.clone());
        tokio::spawn(async move {
            while let Some(alert) = alerts.recv().await {
                deliver(&client, &sink, &alert, &tx).await;
            }
        });
        self.webhooks.push((webhook.clone(), queue.clone()));
        queue
    }
}

fn http_client() -> reqwest::Client {
    // reqwest is built without a TLS crypto provider of its own. An error
    // only means one is installed already.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .user_agent(concat!("cutover/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_default()
}

fn report(tx: &UnboundedSender<Msg>, sink: &str, result: Result<(), String>) {
    if let Err(cause) = &result {
        tracing::warn!(target: "cutover::alert", "{sink}: {cause}");
    }
    let _ = tx.send(Msg::AlertSink {
        sink: sink.to_string(),
        result,
        at: Utc::now(),
    });
}

/// One alert to one webhook, tried again with backoff; every attempt's
/// result is reported.
async fn deliver(
    client: &reqwest::Client,
    sink: &WebhookSink,
    alert: &Alert,
    tx: &UnboundedSender<Msg>,
) {
    let body = match sink.format {
        BodyFormat::Json => json_body(alert),
        BodyFormat::Slack => slack_body(alert),
    };
    for attempt in 0..=RETRIES {
        let result = post(client, sink, &body).await;
        let sent = result.is_ok();
        report(tx, &sink.label, result);
        if sent {
            return;
        }
        if attempt < RETRIES {
            tokio::time::sleep(backoff(attempt)).await;
        }
    }
    tracing::warn!(
        target: "cutover::alert",
        "{}: gave up the {} alert {} after {} attempts",
        sink.label,
        alert.state.word(),
        alert.title(),
        RETRIES + 1
    );
}

async fn post(
    client: &reqwest::Client,
    sink: &WebhookSink,
    body: &serde_json::Value,
) -> Result<(), String> {
    let url = sink.url.resolve()?;
    let response = client
        .post(url)
        .timeout(sink.timeout)
        .json(body)
        .send()
        .await
        .map_err(|e| match e.is_timeout() {
            true => format!("no answer within {}s", sink.timeout.as_secs_f64()),
            false => crate::unleash::without_url(&e),
        })?;
    let status = response.status();
    if status.is_success() {
        Ok(())
    } else {
        Err(format!("answered HTTP {status}"))
    }
}

/// The command, without a shell, killed when it outlasts its timeout.
async fn run_command(command: CommandSink, alert: Alert, tx: UnboundedSender<Msg>) {
    let argv = command_argv(&command.argv, &alert);
    let result = async {
        let mut child = tokio::process::Command::new(&argv[0])
            .args(&argv[1..])
            .envs(command_env(&alert))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", argv[0]))?;
        match tokio::time::timeout(command.timeout, child.wait()).await {
            Ok(Ok(status)) if status.success() => Ok(()),
            Ok(Ok(status)) => Err(format!("{} ended with {status}", argv[0])),
            Ok(Err(e)) => Err(format!("{}: {e}", argv[0])),
            Err(_) => {
                let _ = child.kill().await;
                Err(format!(
                    "{} did not end within {}s: killed",
                    argv[0],
                    command.timeout.as_secs_f64()
                ))
            }
        }
    }
    .await;
    report(&tx, "command", result);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::alert::{AlertState, example};

    /// The command's result, as the app hears of it.
    async fn command_result(argv: &[&str], timeout: Duration) -> Result<(), String> {
        let (tx, mut rx) = unbounded_channel();
        let command = CommandSink {
            argv: argv.iter().map(|a| a.to_string()).collect(),
            timeout,
        };
        run_command(command, example(AlertState::Firing), tx).await;
        match rx.recv().await {
            Some(Msg::AlertSink { sink, result, .. }) if sink == "command" => result,
            other => panic!("no command result: {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_command_that_outlasts_its_timeout_is_killed_and_a_failure_is_reported() {
        let started = std::time::Instant::now();
        let result = command_result(&["sleep", "600"], Duration::from_millis(200)).await;
        assert_eq!(result, Err("sleep did not end within 0.2s: killed".into()));
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "not waited for"
        );
        let missing = command_result(&["/nonexistent/notify"], COMMAND).await;
        assert!(
            missing
                .unwrap_err()
                .starts_with("cannot run /nonexistent/notify: ")
        );
        let failed = command_result(&["false"], COMMAND).await;
        assert_eq!(failed, Err("false ended with exit status: 1".into()));
        assert_eq!(command_result(&["true", "{title}"], COMMAND).await, Ok(()));
    }

    const COMMAND: Duration = Duration::from_secs(60);

    #[test]
    fn the_terminal_is_on_in_the_control_room_and_off_on_the_board_unless_configured() {
        let (tx, _rx) = unbounded_channel();
        let alert = example(AlertState::Firing);
        let sinks = |config: Config, board| AlertSinks::new(Arc::new(config), board, tx.clone());
        let mut room = sinks(Config::default(), false);
        room.send(&alert);
        let bytes = room.take_terminal();
        assert!(
            bytes.starts_with(b"\x07\x1b"),
            "the bell, then the notification"
        );
        assert!(room.take_terminal().is_empty(), "written once");
        let mut board = sinks(Config::default(), true);
        board.send(&alert);
        assert!(board.take_terminal().is_empty());
        let asked: Config = toml::from_str("[contexts.prod-eu.alerts]\nterminal = true").unwrap();
        let mut board = sinks(asked, true);
        board.send(&alert);
        assert_eq!(board.take_terminal(), bytes);
    }

    #[test]
    fn retries_wait_twice_as_long_each_time_up_to_half_a_minute() {
        let waits: Vec<u64> = (0..8).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 30, 30, 30]);
        let first_tries: Vec<u64> = (0..RETRIES).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(
            first_tries,
            [1, 2, 4],
            "an alert is given up after 7s of waits"
        );
    }
}
