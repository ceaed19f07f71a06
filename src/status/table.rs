//! The table `cutover status` prints: a line per release, cells cut and
//! padded by display width; a CLUSTER column across a fleet.

use super::{ConnectionState, FleetReport, MigrationStatus, ReleaseStatus, StatusReport};
use crate::model::migration::RollbackSafety;
use crate::model::step_fraction;
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// The latest phase that began and its state, and whether a rollback is
/// unsafe (`!`) or unknown (`?`): `contract:done!`.
fn schema_cell(m: &MigrationStatus) -> String {
    use crate::model::migration::PhaseState;
    let phase = m
        .phases
        .iter()
        .rev()
        .find(|p| p.state != PhaseState::Pending)
        .or_else(|| m.phases.first());
    let mark = match &m.rollback_safety {
        Some(RollbackSafety::Unsafe(_)) => "!",
        Some(RollbackSafety::Unknown(_)) => "?",
        _ => "",
    };
    match phase {
        Some(p) => format!("{}:{}{mark}", p.name.word(), p.state.word()),
        None => format!("linked{mark}"),
    }
}

/// The ATTENTION column: what needs a human, then how many fields could
/// not be read.
fn attention_text(r: &ReleaseStatus) -> String {
    let mut parts = r.attention.clone();
    match r.warnings.len() {
        0 => {}
        1 => parts.push("? 1 malformed field (see -o json)".into()),
        n => parts.push(format!("? {n} malformed fields (see -o json)")),
    }
    parts.join("; ")
}

/// The table's columns and their widths in terminal cells; ATTENTION, the
/// last, takes what it needs.
const COLUMNS: [(&str, usize); 10] = [
    ("KIND", 11),
    ("NAME", 24),
    ("STRATEGY", 13),
    ("PHASE", 20),
    ("STEP", 7),
    ("WEIGHT", 8),
    ("CANARY", 24),
    ("STABLE", 24),
    ("VERDICT", 9),
    ("SCHEMA", 18),
];

pub fn table(report: &StatusReport) -> String {
    let releases = report.releases.iter().map(|r| (None, r));
    lines(releases, report.namespace.is_none(), None)
}

/// The table of a fleet: a CLUSTER column first (each context's alias,
/// else its name), and NAME as NAMESPACE/NAME when the contexts read
/// different namespaces or all of them.
pub fn fleet_table(report: &FleetReport) -> String {
    let connected = || {
        report
            .contexts
            .iter()
            .filter(|c| c.state == ConnectionState::Connected)
    };
    let mut namespaces = connected().map(|c| c.namespace.as_deref());
    let first = namespaces.next().flatten();
    let with_namespace = first.is_none() || namespaces.any(|n| n != first);
    let width = report
        .contexts
        .iter()
        .map(|c| c.label().width())
        .chain([CLUSTER.width()])
        .max()
        .unwrap_or_default()
        .min(MAX_CLUSTER_WIDTH);
    let releases = report
        .releases
        .iter()
        .map(|r| (Some(r.label()), &r.release));
    lines(releases, with_namespace, Some(width))
}

const CLUSTER: &str = "CLUSTER";
/// A longer context name is cut: an alias is the short name.
const MAX_CLUSTER_WIDTH: usize = 24;

/// The header and a line per release; with `cluster_width`, each line
/// begins with the release's cluster.
fn lines<'a>(
    releases: impl Iterator<Item = (Option<&'a str>, &'a ReleaseStatus)>,
    with_namespace: bool,
    cluster_width: Option<usize>,
) -> String {
    let cluster = |label: &str| match cluster_width {
        Some(width) => format!("{} ", fit(label, width)),
        None => String::new(),
    };
    let header = row(COLUMNS.map(|(title, _)| title.to_string()), "ATTENTION");
    let mut out = cluster(CLUSTER) + &header;
    for (label, r) in releases {
        let name = if with_namespace {
            format!("{}/{}", r.namespace, r.name)
        } else {
            r.name.clone()
        };
        let step = r
            .step
            .as_ref()
            .map_or("-".into(), |s| step_fraction(s.current, s.total));
        let image = |i: &Option<String>| {
            i.as_deref()
                .map(crate::ui::short_image)
                .unwrap_or("-")
                .to_string()
        };
        // A finished release has no canary verdict: its bake instead.
        let verdict = r
            .metrics
            .as_ref()
            .filter(|m| m.versions.is_some())
            .map(|m| m.verdict.word())
            .or_else(|| r.bake.as_ref().map(|b| b.word()))
            .unwrap_or("-");
        let schema = r.migration.as_ref().map_or("-".to_string(), schema_cell);
        let cells = [
            r.kind.to_string(),
            name,
            r.strategy.to_string(),
            format!("{} {}", r.health.symbol(), r.phase),
            step,
            r.weights.text(),
            image(&r.canary_image),
            image(&r.stable_image),
            verdict.to_string(),
            schema,
        ];
        out.push_str(&cluster(label.unwrap_or_default()));
        out.push_str(&row(cells, &attention_text(r)));
    }
    out
}

/// One line of the table: each cell fitted to its column, then the last.
fn row(cells: [String; COLUMNS.len()], last: &str) -> String {
    let mut line = String::new();
    for (cell, (_, width)) in cells.iter().zip(COLUMNS) {
        line.push_str(&fit(cell, width));
        line.push(' ');
    }
    line.push_str(last);
    line.truncate(line.trim_end().len());
    line.push('\n');
    line
}

/// `text` in `width` terminal cells: padded, or cut with `…` by display
/// width (a wide character takes two cells and is never split).
fn fit(text: &str, width: usize) -> String {
    let mut used = text.width();
    let mut out = if used <= width {
        text.to_string()
    } else {
        let mut kept = String::new();
        used = 0;
        for c in text.chars() {
            let w = c.width().unwrap_or(0);
            if used + w >= width {
                break;
            }
            kept.push(c);
            used += w;
        }
        used += 1;
        kept + "…"
    };
    out.extend(std::iter::repeat_n(' ', width.saturating_sub(used)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_cut_and_padded_by_display_width() {
        assert_eq!(fit("checkout", 10), "checkout  ");
        assert_eq!(fit("checkout", 8), "checkout");
        assert_eq!(fit("checkout-eu", 8), "checkou…");
        // Each of these takes two cells: 3 whole ones and the mark fit in
        // 7; a fourth would need 9.
        assert_eq!(fit("支払い決済", 7), "支払い…");
        assert_eq!(fit("支払い決済", 8), "支払い… ");
        // Bytes are not cells: é is two bytes and one cell.
        assert_eq!(fit("café", 4), "café");
        for text in [
            "支払い決済サービス",
            "shop/ölçüm-ünitesi-api",
            "🚀🚀🚀🚀🚀🚀",
        ] {
            for width in 1..12 {
                assert_eq!(fit(text, width).width(), width, "{text:?} in {width}");
            }
        }
    }

    #[test]
    fn rows_keep_their_columns_whatever_the_names() {
        let cells = |text: &str| COLUMNS.map(|_| text.to_string());
        let header = row(COLUMNS.map(|(title, _)| title.to_string()), "ATTENTION");
        let wide = row(cells("決済サービスのカナリア・リリース"), "degraded");
        let cells_before = |line: &str, word: &str| line[..line.find(word).unwrap()].width();
        assert_eq!(
            cells_before(&wide, "degraded"),
            cells_before(&header, "ATTENTION"),
            "{header}{wide}"
        );
        assert!(!row(cells("-"), "").ends_with(" \n"), "no trailing blanks");
    }

    /// A fleet of `contexts` (name, alias, namespace), each with the
    /// fixture's checkout canary.
    fn fleet(contexts: &[(&str, Option<&str>, Option<&str>)]) -> FleetReport {
        use crate::model::Kind;
        use crate::status::fleet::{ContextStatus, FleetRelease};
        use crate::test_support::fixture::{ARGO_CANARY, Fixture};
        let release = Fixture::load(&[ARGO_CANARY]).release(Kind::Rollout, "checkout");
        let now = chrono::Utc::now();
        let state = crate::app::State::new(now, true, crate::app::keymap::Keymap::default());
        let status =
            |(name, alias, namespace): &(&str, Option<&str>, Option<&str>)| ContextStatus {
                name: name.to_string(),
                alias: alias.map(str::to_string),
                server: None,
                state: ConnectionState::Connected,
                error: None,
                namespace: namespace.map(str::to_string),
                user: None,
                metrics_source: None,
                metrics_problem: None,
                databases: Vec::new(),
            };
        FleetReport {
            read_at: now,
            contexts: contexts.iter().map(status).collect(),
            releases: contexts
                .iter()
                .map(|(name, alias, _)| FleetRelease {
                    cluster: name.to_string(),
                    alias: alias.map(str::to_string),
                    release: super::super::release_status(&release, &state, None),
                })
                .collect(),
            alerts: Vec::new(),
        }
    }

    #[test]
    fn a_fleet_table_begins_with_each_releases_cluster() {
        let table = fleet_table(&fleet(&[
            ("prod-eu", Some("eu"), Some("shop")),
            ("prod-us-east-1", None, Some("shop")),
        ]));
        let lines: Vec<&str> = table.lines().collect();
        assert!(lines[0].starts_with("CLUSTER        KIND "), "{table}");
        assert!(
            lines[1].starts_with("eu             Rollout     checkout "),
            "{table}"
        );
        assert!(
            lines[2].starts_with("prod-us-east-1 Rollout     checkout "),
            "{table}"
        );
    }

    #[test]
    fn a_fleet_table_names_the_namespace_when_the_contexts_read_different_ones() {
        let same = fleet_table(&fleet(&[
            ("a", None, Some("shop")),
            ("b", None, Some("shop")),
        ]));
        assert!(!same.contains("shop/checkout"), "{same}");
        let different = fleet_table(&fleet(&[
            ("a", None, Some("shop")),
            ("b", None, Some("pay")),
        ]));
        assert!(different.contains("shop/checkout"), "{different}");
        let every = fleet_table(&fleet(&[("a", None, None), ("b", None, None)]));
        assert!(every.contains("shop/checkout"), "{every}");
    }
}
