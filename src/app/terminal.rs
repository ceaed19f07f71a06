//! The terminal the control room draws on: drawing a frame, giving the
//! terminal back to the shell on Ctrl-Z and taking it again on `fg`, and
//! noticing when it is gone.

use super::state::State;
use crate::ui::theme::Theme;
use color_eyre::eyre::{Result, WrapErr};
use crossterm::terminal::{
    BeginSynchronizedUpdate, Clear, ClearType, EndSynchronizedUpdate, EnterAlternateScreen,
    disable_raw_mode, enable_raw_mode,
};
use ratatui::DefaultTerminal;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

/// The terminal, and what it shows as last written.
pub struct Screen {
    pub terminal: DefaultTerminal,
    /// The last frame written; `None` when the terminal's screen is not
    /// known to show it (at start, and after a stop).
    shown: Option<Buffer>,
}

impl Screen {
    pub fn new(terminal: DefaultTerminal) -> Screen {
        Screen {
            terminal,
            shown: None,
        }
    }

    /// Draw `state`, unless the frame is the one the terminal shows: then
    /// nothing is written at all, not even the markers around a frame. A
    /// change that alters nothing on screen costs no bytes.
    pub fn draw(&mut self, state: &State, theme: &Theme) -> Result<()> {
        let terminal = &mut self.terminal;
        let shown = &mut self.shown;
        let mut frame = || -> std::io::Result<()> {
            terminal.autoresize()?;
            crate::ui::draw(&mut terminal.get_frame(), state, theme);
            if shown.as_ref() == Some(terminal.current_buffer_mut()) {
                // Rendered again from blank next time, as after a swap.
                terminal.current_buffer_mut().reset();
                return Ok(());
            }
            *shown = Some(terminal.current_buffer_mut().clone());
            crossterm::execute!(std::io::stdout(), BeginSynchronizedUpdate)?;
            // The views never place the cursor: it stays hidden.
            terminal.apply_buffer()?;
            crossterm::execute!(std::io::stdout(), EndSynchronizedUpdate)
        };
        frame().wrap_err("drawing on the terminal")
    }

    /// Write an alert's bell and notification, between frames: they move
    /// no cell, so the frame on screen stays as it is.
    pub fn notify(&mut self, bytes: &[u8]) -> Result<()> {
        use std::io::Write;
        if bytes.is_empty() {
            return Ok(());
        }
        let mut out = std::io::stdout();
        out.write_all(bytes)
            .and_then(|()| out.flush())
            .wrap_err("writing an alert to the terminal")
    }

    /// The whole screen, as the next frame will fill it.
    pub fn area(&self) -> Result<Rect> {
        let size = self.terminal.size()?;
        Ok(Rect::new(0, 0, size.width, size.height))
    }

    /// Give the terminal back as it was (main screen, cooked mode, cursor
    /// shown) and stop the whole job, as the shell's own Ctrl-Z would.
    /// Returns once the job is continued, the terminal taken again.
    pub fn suspend(&mut self) -> Result<()> {
        self.terminal.show_cursor()?;
        ratatui::try_restore().wrap_err("restoring the terminal")?;
        // SIGSTOP, not SIGTSTP, which this process handles. A signal to the
        // sender is delivered before kill returns (POSIX): this returns
        // after the continue.
        // SAFETY: kill(2) on our own process group touches no memory.
        if unsafe { libc::kill(0, libc::SIGSTOP) } != 0 {
            return Err(std::io::Error::last_os_error()).wrap_err("stopping the job");
        }
        self.resume()
    }

    /// Take the terminal again after a stop: raw mode set afresh (the
    /// shell may have reset the modes meanwhile), the alternate screen
    /// cleared, and the next frame drawn whole.
    pub fn resume(&mut self) -> Result<()> {
        disable_raw_mode()?;
        enable_raw_mode()?;
        crossterm::execute!(
            std::io::stdout(),
            EnterAlternateScreen,
            Clear(ClearType::All)
        )?;
        // Not `terminal.clear()`: it asks the terminal where the cursor is,
        // and the answer would have to come through the key reader. With
        // both buffers empty, the next frame is written whole.
        self.terminal.swap_buffers();
        self.shown = None;
        Ok(())
    }
}

/// Block until the terminal hangs up: its pty closed (the terminal
/// emulator, tmux or an SSH connection gone) with no signal reaching this
/// process. crossterm cannot tell: a hung-up terminal reads as end of file
/// forever, which its reader takes for "no key yet".
pub fn wait_for_hang_up() -> std::io::Result<()> {
    // No events asked for: poll reports only a hang-up or an error.
    let mut stdout = libc::pollfd {
        fd: libc::STDOUT_FILENO,
        events: 0,
        revents: 0,
    };
    loop {
        // SAFETY: one pollfd, owned here, for the length of the call.
        if unsafe { libc::poll(&mut stdout, 1, -1) } < 0 {
            let error = std::io::Error::last_os_error();
            if error.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(error);
        }
        if stdout.revents & (libc::POLLHUP | libc::POLLERR | libc::POLLNVAL) != 0 {
            return Ok(());
        }
    }
}

/// Whether a shell with job control started us, so that a stopped job can
/// be continued with `fg`. Run directly by ssh, tmux or a service manager,
/// our process group is the session's own and nothing would continue it.
pub fn job_control() -> bool {
    // SAFETY: getpgrp and getsid only return ids of this process.
    unsafe { libc::getpgrp() != libc::getsid(0) }
}
