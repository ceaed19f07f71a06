//! A real terminal for end-to-end tests: tmux on its own socket in a
//! temporary folder, running one command at a fixed size.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The prompt of [`Tmux::start_shell`].
pub const PROMPT: &str = "shell> ";

pub struct Tmux {
    program: PathBuf,
    socket: PathBuf,
    /// The server's pid: its socket may be gone (deleted with its folder)
    /// by the time the test ends, and the server must end anyway.
    server: String,
}

impl Tmux {
    /// Start `command` (run by `sh -c`) in a detached session of
    /// `width`×`height` cells. The pane stays after the command exits so a
    /// test can tell a crash from a hang.
    pub fn start(program: &Path, dir: &Path, width: u16, height: u16, command: &str) -> Tmux {
        let mut tmux = Tmux {
            program: program.to_path_buf(),
            socket: dir.join("tmux.sock"),
            server: String::new(),
        };
        let status = tmux
            .cmd()
            .args([
                "new-session",
                "-d",
                "-s",
                "ui",
                "-x",
                &width.to_string(),
                "-y",
                &height.to_string(),
            ])
            .arg(format!("{command}; echo EXITED $?; sleep 600"))
            .status()
            .expect("run tmux");
        assert!(status.success(), "tmux new-session failed");
        let out = tmux
            .cmd()
            .args(["display-message", "-p", "#{pid}"])
            .output()
            .expect("display-message");
        tmux.server = String::from_utf8_lossy(&out.stdout).trim().to_string();
        tmux
    }

    /// An interactive shell with job control at its prompt ([`PROMPT`]),
    /// for what only a shell does: Ctrl-Z, `fg`, `stty`.
    pub fn start_shell(program: &Path, dir: &Path, width: u16, height: u16) -> Tmux {
        let shell = format!("exec env PS1='{PROMPT}' sh -i");
        let tmux = Tmux::start(program, dir, width, height, &shell);
        // capture-pane drops the trailing space.
        tmux.wait_for_text(PROMPT.trim_end(), Duration::from_secs(30));
        tmux
    }

    fn cmd(&self) -> Command {
        let mut c = Command::new(&self.program);
        c.arg("-S").arg(&self.socket);
        c
    }

    /// Any tmux command on this server (`set-option …`, `pipe-pane …`,
    /// `display-message -p …`): what it printed.
    pub fn run(&self, args: &[&str]) -> String {
        let out = self.cmd().args(args).output().expect("run tmux");
        assert!(
            out.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Send keys by tmux name (`Enter`, `Escape`, `C-r`, `P`).
    pub fn keys(&self, keys: &[&str]) {
        let status = self
            .cmd()
            .args(["send-keys", "-t", "ui"])
            .args(keys)
            .status()
            .expect("send-keys");
        assert!(status.success());
    }

    /// Type text literally.
    pub fn type_text(&self, text: &str) {
        let status = self
            .cmd()
            .args(["send-keys", "-t", "ui", "-l", text])
            .status()
            .expect("send-keys");
        assert!(status.success());
    }

    /// The pid of the command in the pane (a child of the pane's shell).
    pub fn command_pid(&self) -> Option<u32> {
        let out = self
            .cmd()
            .args(["display-message", "-p", "-t", "ui", "#{pane_pid}"])
            .output()
            .ok()?;
        let shell = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let children = Command::new("pgrep").args(["-P", &shell]).output().ok()?;
        String::from_utf8_lossy(&children.stdout)
            .lines()
            .next()?
            .trim()
            .parse()
            .ok()
    }

    /// Kill the tmux server with SIGKILL: its ptys close and tmux sends no
    /// signal, as when a terminal emulator or an SSH connection dies.
    pub fn kill_server_abruptly(&self) {
        let status = Command::new("kill")
            .args(["-KILL", &self.server])
            .status()
            .expect("kill");
        assert!(status.success(), "kill -KILL {}", self.server);
    }

    pub fn screen(&self) -> String {
        let out = self
            .cmd()
            .args(["capture-pane", "-p", "-t", "ui"])
            .output()
            .expect("capture-pane");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The screen with its colours and attributes, as escape sequences.
    pub fn styled_screen(&self) -> String {
        let out = self
            .cmd()
            .args(["capture-pane", "-e", "-p", "-t", "ui"])
            .output()
            .expect("capture-pane");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Wait until the screen satisfies `cond`; panic with the last screen if
    /// it never does. The timeout only bounds a broken test.
    pub fn wait_for(&self, what: &str, timeout: Duration, cond: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if cond(&screen) {
                return self.settled(screen, &cond);
            }
            assert!(
                !screen.contains("EXITED"),
                "the control room exited while waiting for {what}:\n{screen}"
            );
            if start.elapsed() > timeout {
                panic!("timed out waiting for {what}; the screen:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// A capture can land while a frame is still arriving: the text waited
    /// for is there, the rest of the frame not yet. Capture again until two
    /// captures agree (a frame is written in one go, so a short pause sees
    /// it whole), keeping the last one that still satisfies `cond`.
    fn settled(&self, mut screen: String, cond: &impl Fn(&str) -> bool) -> String {
        for _ in 0..20 {
            std::thread::sleep(Duration::from_millis(30));
            let again = self.screen();
            if again == screen || !cond(&again) {
                return screen;
            }
            screen = again;
        }
        screen
    }

    /// Wait for the command to end; the screen then shows `EXITED <status>`.
    pub fn wait_for_exit(&self, timeout: Duration) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if screen.contains("EXITED") {
                return screen;
            }
            assert!(
                start.elapsed() < timeout,
                "the command did not exit:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Send `signal` (`TERM`, `HUP`, `INT`) to the command and wait for it
    /// to end: it must exit with `code`, the terminal given back (the
    /// shell's screen, nothing of the list on the alternate one).
    pub fn end_with_signal(&self, signal: &str, code: i32, timeout: Duration) {
        let pid = self.command_pid().expect("the command's pid");
        let killed = Command::new("kill")
            .args([format!("-{signal}"), pid.to_string()])
            .status()
            .expect("kill");
        assert!(killed.success());
        let screen = self.wait_for_exit(timeout);
        assert!(
            screen.contains(&format!("EXITED {code}")),
            "SIG{signal}: exit status {code}:\n{screen}"
        );
        assert!(
            !screen.contains("Releases ("),
            "SIG{signal}: the alternate screen is left:\n{screen}"
        );
    }

    pub fn wait_for_text(&self, text: &str, timeout: Duration) -> String {
        self.wait_for(&format!("{text:?}"), timeout, |s| s.contains(text))
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        // Quietly: a test may have killed the server already.
        let killed = self
            .cmd()
            .arg("kill-server")
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        // Its socket gone with its folder, the server is told by its pid;
        // it hangs up on the command it runs, which ends too.
        if !killed && !self.server.is_empty() {
            let _ = Command::new("kill")
                .args(["-TERM", &self.server])
                .stderr(std::process::Stdio::null())
                .status();
        }
    }
}
