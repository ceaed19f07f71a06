//! The signals that end a long-running command (the control room, the
//! demo, `sim serve`), and the exit status that reports them: 128 plus the
//! signal's number, as a shell reports a process the signal killed, so a
//! script can tell an interrupted run from a finished one.

use color_eyre::eyre::{Result, WrapErr};
use tokio::signal::unix::{Signal, SignalKind, signal};

/// A signal that asked the program to end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuitSignal {
    Interrupt,
    Terminate,
    Hangup,
}

impl QuitSignal {
    pub fn name(self) -> &'static str {
        match self {
            QuitSignal::Interrupt => "SIGINT",
            QuitSignal::Terminate => "SIGTERM",
            QuitSignal::Hangup => "SIGHUP",
        }
    }

    fn number(self) -> i32 {
        match self {
            QuitSignal::Interrupt => libc::SIGINT,
            QuitSignal::Terminate => libc::SIGTERM,
            QuitSignal::Hangup => libc::SIGHUP,
        }
    }

    /// 130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP.
    pub fn exit_status(self) -> u8 {
        u8::try_from(128 + self.number()).unwrap_or(u8::MAX)
    }
}

/// The exit status of a command that ended by itself (0) or on `signal`.
pub fn exit_code(signal: Option<QuitSignal>) -> std::process::ExitCode {
    signal.map_or(std::process::ExitCode::SUCCESS, |s| {
        std::process::ExitCode::from(s.exit_status())
    })
}

/// SIGINT, SIGTERM and SIGHUP, caught from the moment this is made: one
/// that arrives before [`QuitSignals::recv`] is awaited is kept, not lost
/// to the default action.
pub struct QuitSignals {
    interrupt: Signal,
    terminate: Signal,
    hangup: Signal,
}

impl QuitSignals {
    pub fn listen() -> Result<QuitSignals> {
        let listen = |kind, name| signal(kind).wrap_err_with(|| format!("listening for {name}"));
        Ok(QuitSignals {
            interrupt: listen(SignalKind::interrupt(), "SIGINT")?,
            terminate: listen(SignalKind::terminate(), "SIGTERM")?,
            hangup: listen(SignalKind::hangup(), "SIGHUP")?,
        })
    }

    /// The next of the three to arrive.
    pub async fn recv(&mut self) -> QuitSignal {
        tokio::select! {
            _ = self.interrupt.recv() => QuitSignal::Interrupt,
            _ = self.terminate.recv() => QuitSignal::Terminate,
            _ = self.hangup.recv() => QuitSignal::Hangup,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_statuses_are_128_plus_the_signal() {
        assert_eq!(QuitSignal::Interrupt.exit_status(), 130);
        assert_eq!(QuitSignal::Terminate.exit_status(), 143);
        assert_eq!(QuitSignal::Hangup.exit_status(), 129);
    }
}
