//! What the control room knows of one context's Unleash: the flags last
//! read, and while it fails, why and since when. A flag is never shown off
//! (nor on) on the strength of a reading Unleash no longer confirms.

use super::{Flag, FlagState};
use chrono::{DateTime, Utc};

#[derive(Debug, Clone, PartialEq, Default)]
pub struct UnleashFeed {
    /// The flags of the last good reading.
    pub flags: Vec<Flag>,
    /// Why the last reading failed.
    pub error: Option<String>,
    /// Since when it has been failing without a break.
    pub failing_since: Option<DateTime<Utc>>,
    /// When it was last read well.
    pub read_at: Option<DateTime<Utc>>,
}

impl UnleashFeed {
    /// One reading, at `at`.
    pub fn read(&mut self, result: Result<Vec<Flag>, String>, at: DateTime<Utc>) {
        match result {
            Ok(flags) => {
                self.flags = flags;
                self.error = None;
                self.failing_since = None;
                self.read_at = Some(at);
            }
            Err(error) => {
                self.failing_since = self.failing_since.or(Some(at));
                self.error = Some(error);
            }
        }
    }

    /// The flags `names` (a release's `cutover.dev/flags`) link to, their
    /// state unknown while Unleash fails.
    pub fn linked(&self, names: &[String]) -> Vec<Flag> {
        self.flags
            .iter()
            .filter(|f| names.contains(&f.key))
            .map(|f| {
                let mut f = f.clone();
                if self.error.is_some() {
                    f.state = FlagState::Unknown;
                }
                f
            })
            .collect()
    }
}
