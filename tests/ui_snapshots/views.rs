//! Every view as a snapshot, at both sizes in both themes.

use super::bake_states::{
    BAKE_TITLE, bake_baked_state, bake_baking_state, bake_breached_state, list_bake_breached_state,
    list_baking_state,
};
use super::flag_states::{
    FLAGS_TITLE, confirm_kill_switch_state, confirm_unleash_kill_switch_state, detail_flags_state,
    detail_unleash_state, list_flag_suspect_state, list_flags_state,
};
use super::fleet::{
    fleet_confirm_pause_state, fleet_confirm_typed_state, fleet_down_state, wave_state,
};
use super::metrics_states::{
    METRICS_TITLE, list_verdicts_state, metrics_error_state, metrics_fail_state,
};
use super::migration_states::{
    MIGRATION_TITLE, confirm_abort_blocked_state, confirm_abort_override_state,
    confirm_abort_restore_state, list_schema_state, migration_backfill_state,
    migration_db_failing_state, migration_restore_state, migration_restore_velero_state,
    migration_unsafe_state,
};
use super::states::{
    config_problems_state, confirm_abort_state, confirm_pause_state, detail_state,
    help_config_keys_state, help_state, list_config_problems_state, list_loading_state,
    refused_state,
};
use super::*;

/// One snapshot subject.
pub struct Case {
    pub name: &'static str,
    pub about: &'static str,
    pub state: State,
    /// At a size that does not show this text, the detail is scrolled down
    /// until it is the first row.
    pub reveal: Option<&'static str>,
}

fn case(name: &'static str, about: &'static str, state: State) -> Case {
    Case {
        name,
        about,
        state,
        reveal: None,
    }
}

/// Every view the snapshots cover, with what it shows.
pub fn views() -> Vec<Case> {
    vec![
        case(
            "list",
            "the list: a failed Flagger canary, a blue-green waiting for promotion, a canary \
             paused with 150s left, a rolling Deployment and a steady one",
            shop(),
        ),
        case(
            "detail",
            "checkout's detail: paused at a 5m pause with 150s left, ReplicaSets and pods, a \
             successful AnalysisRun with measurements, VirtualService weights, events",
            detail_state(),
        ),
        case(
            "help",
            "the help overlay over the list, acting on checkout with its actions allowed",
            help_state(),
        ),
        case(
            "confirm_pause",
            "the confirmation of pausing checkout (y/n)",
            confirm_pause_state(),
        ),
        case(
            "confirm_abort",
            "the confirmation of aborting checkout, asking for the name: \"check\" typed",
            confirm_abort_state(),
        ),
        Case {
            reveal: Some(METRICS_TITLE),
            ..case(
                "metrics_fail",
                "checkout's metrics panel: error ratio and p95/p99 High, both gates failed, \
                 verdict Fail against a Successful AnalysisRun, abort recommended",
                metrics_fail_state(),
            )
        },
        Case {
            reveal: Some(METRICS_TITLE),
            ..case(
                "metrics_source_error",
                "checkout's metrics panel: Prometheus failing for 2m, no verdict",
                metrics_error_state(),
            )
        },
        case(
            "list_baking",
            "the list with cart finished 12m ago and baking, every SLO held so far",
            list_baking_state(),
        ),
        case(
            "list_bake_breached",
            "the list with cart's SLO breached in its bake window: its attention mark, the \
             undo recommended",
            list_bake_breached_state(),
        ),
        Case {
            reveal: Some(BAKE_TITLE),
            ..case(
                "bake_baking",
                "cart's bake panel: 12m of 30m, each SLO against its limit, before and after",
                bake_baking_state(),
            )
        },
        Case {
            reveal: Some(BAKE_TITLE),
            ..case(
                "bake_breached",
                "cart's bake panel: the error ratio above 1% since minute 4, for 8m",
                bake_breached_state(),
            )
        },
        Case {
            reveal: Some(BAKE_TITLE),
            ..case(
                "bake_baked",
                "cart's bake panel: the 30m window ended with every SLO held",
                bake_baked_state(),
            )
        },
        case(
            "list_verdicts",
            "the list with the verdict column: checkout highlighted and failing (abort \
             recommended), payments without data, the rest not measured",
            list_verdicts_state(),
        ),
        Case {
            reveal: Some(MIGRATION_TITLE),
            ..case(
                "migration_backfill",
                "payments' migration panel: expand done, backfill running (from its Jobs), \
                 rollback safe, the database named but not configured",
                migration_backfill_state(),
            )
        },
        Case {
            reveal: Some(MIGRATION_TITLE),
            ..case(
                "migration_unsafe",
                "payments' migration panel after its contract Job completed: rollback \
                 UNSAFE, the alarm of revision 1 under the contract, Flyway's history, two \
                 sessions blocked behind an idle transaction, an index build",
                migration_unsafe_state(),
            )
        },
        Case {
            reveal: Some(MIGRATION_TITLE),
            ..case(
                "migration_db_failing",
                "payments' migration panel while backfilling, its database refusing \
                 connections for 2m: rollback UNKNOWN, the last reading kept",
                migration_db_failing_state(),
            )
        },
        Case {
            reveal: Some(MIGRATION_TITLE),
            ..case(
                "migration_restore",
                "payments' migration panel after its contract with its pgBackRest \
                 repository read: the Restore block, the alarm of no backup newer than \
                 the expand",
                migration_restore_state(),
            )
        },
        Case {
            reveal: Some(MIGRATION_TITLE),
            ..case(
                "migration_restore_velero",
                "payments' migration panel after its contract with both sources read: \
                 its database's pgBackRest repository and Velero's backups of shop, \
                 with its schedule and last week's restore drill",
                migration_restore_velero_state(),
            )
        },
        case(
            "confirm_abort_restore",
            "the confirmation of aborting payments after its contract, its backups read: \
             blocked, and naming the restore the way back needs",
            confirm_abort_restore_state(),
        ),
        case(
            "list_schema",
            "the list with the schema column: payments highlighted, contracted with an \
             unsafe rollback and an alarm, the rest without a migration",
            list_schema_state(),
        ),
        case(
            "refused",
            "the list after pausing checkout was refused by a policy: the whole reason, \
             wrapped over the rows it needs at the bottom",
            refused_state(),
        ),
        case(
            "confirm_abort_blocked",
            "the confirmation of aborting payments after its contract: blocked by the \
             schema, asking for the name",
            confirm_abort_blocked_state(),
        ),
        case(
            "confirm_abort_override",
            "the blocked abort of payments with the name typed and Enter pressed: asking \
             for the override phrase",
            confirm_abort_override_state(),
        ),
        case(
            "list_loading",
            "the list while the cluster still lists: the Rollouts and the Canary in, the \
             Deployments, ReplicaSets and pods streaming, the pods' total unknown",
            list_loading_state(),
        ),
        case(
            "list_config_problems",
            "the list with a config file of five problems: the status line counts them",
            list_config_problems_state(),
        ),
        case(
            "config_problems",
            "the :config panel over the list: each problem of the config file with its line \
             and column, the cause and the fix",
            config_problems_state(),
        ),
        case(
            "fleet_down",
            "a fleet of two, eu and us, listing the same shop: a CLUSTER column, and eu's \
             watches refused for 2m in the header, its rows kept",
            fleet_down_state(),
        ),
        case(
            "fleet_confirm_pause",
            "pausing checkout of us in a fleet of eu and us: the confirmation names the \
             cluster, its context and its server",
            fleet_confirm_pause_state(),
        ),
        case(
            "list_flags",
            "the list with the flags column: checkout's flag opened to 20% three minutes \
             ago (changed), payments' on behind a rule, search's off",
            list_flags_state(),
        ),
        Case {
            reveal: Some(FLAGS_TITLE),
            ..case(
                "detail_flags",
                "checkout's flags panel: new-checkout-flow on, 20% on by a fractional split, \
                 changed 3m ago; ranking-v2 off, shared with search",
                detail_flags_state(),
            )
        },
        case(
            "list_flag_suspect",
            "the list with checkout failing its metrics three minutes after its flag was \
             opened: the recommendation names the flag's kill switch before an abort",
            list_flag_suspect_state(),
        ),
        case(
            "confirm_kill_switch",
            "the kill switch on checkout: the flag, its source and the context named, \
             \"serve on by default\" chosen of the two choices, the merge patch shown",
            confirm_kill_switch_state(),
        ),
        Case {
            reveal: Some(FLAGS_TITLE),
            ..case(
                "detail_unleash",
                "checkout's flags panel with an Unleash flag beside its FeatureFlags: \
                 new-checkout-flow of Unleash default/production on at 20%, changed 10m ago",
                detail_unleash_state(),
            )
        },
        case(
            "confirm_unleash_kill_switch",
            "the kill switch on checkout's Unleash flag: the flag, Unleash default/production \
             and the context named, the POST to that environment's off endpoint shown",
            confirm_unleash_kill_switch_state(),
        ),
        case(
            "fleet_confirm_typed",
            "pausing checkout of us, whose context asks for its name typed: checkout typed \
             instead and Enter pressed, so nothing is sent and the status line says so",
            fleet_confirm_typed_state(),
        ),
        case(
            "wave",
            "the wave view of eu, us and ap: a row per release, a cell per cluster; us has \
             no cart, ap's watches refused for 2m (its cells say how old they are); the \
             cursor on checkout of us",
            wave_state(),
        ),
        case(
            "help_config_keys",
            "the help with the config's keys: x given to both promote and abort goes to \
             neither (P and A stay), sort moved to o",
            help_config_keys_state(),
        ),
    ]
}

/// The first row inside a view's border, under the top bar.
const FIRST_BODY_ROW: u16 = 2;

/// Scrolls the detail down with `j`, as a user would, until `text` is on
/// the first row of the view; nothing when `size` already shows it in the
/// upper half of the screen (lower, what follows it would be cut).
fn reveal(state: &mut State, text: &str, size: (u16, u16)) {
    let top_row = |state: &State| {
        find_all(draw(state, "mono", size).buffer(), text)
            .first()
            .map(|cells| cells[0].1)
    };
    if top_row(state).is_some_and(|row| row < size.1 / 2) {
        return;
    }
    for _ in 0..500 {
        press(state, "j");
        if top_row(state) == Some(FIRST_BODY_ROW) {
            return;
        }
    }
    panic!("{text:?} never reaches the top at {size:?}");
}

/// The view `name` as drawn at `size`: scrolled, if the case says so.
pub fn prepared(name: &str, size: (u16, u16)) -> (&'static str, State) {
    let Case {
        about,
        mut state,
        reveal: text,
        ..
    } = views()
        .into_iter()
        .find(|c| c.name == name)
        .expect("a known view");
    if let Some(text) = text {
        reveal(&mut state, text, size);
    }
    (about, state)
}

/// Draws the view at both sizes in both themes: the same text in both
/// (one snapshot per size), colours in default, none at all in mono.
fn check_view(name: &str) {
    for (width, height) in SIZES {
        let (about, state) = prepared(name, (width, height));
        let size = format!("{width}x{height}");
        let default = draw(&state, "default", (width, height));
        let mono = draw(&state, "mono", (width, height));
        assert_eq!(
            mono.to_string(),
            default.to_string(),
            "{name} {size}: the mono theme must draw the same text"
        );
        assert!(
            has_colour(default.buffer()),
            "{name} {size}: the default theme draws in colour"
        );
        assert_colourless(mono.buffer(), &format!("{name} {size} mono"));
        assert_view_snapshot(
            &format!("{name}_{size}"),
            format!("{about}; {size}, text of both themes"),
            default.to_string(),
        );
    }
}

#[test]
fn list() {
    check_view("list");
}

#[test]
fn detail() {
    check_view("detail");
}

#[test]
fn help() {
    check_view("help");
    // Every binding has its row on the smallest terminal: the last one
    // listed is there, above the border.
    let (_, state) = prepared("help", (80, 24));
    let text = draw(&state, "default", (80, 24)).to_string();
    assert!(text.contains("confirm / cancel a dialog"), "{text}");
}

#[test]
fn confirm_pause() {
    check_view("confirm_pause");
}

#[test]
fn confirm_abort() {
    check_view("confirm_abort");
}

#[test]
fn metrics_fail() {
    check_view("metrics_fail");
}

#[test]
fn metrics_source_error() {
    check_view("metrics_source_error");
}

#[test]
fn list_baking() {
    check_view("list_baking");
}

#[test]
fn list_bake_breached() {
    check_view("list_bake_breached");
}

#[test]
fn bake_baking() {
    check_view("bake_baking");
}

#[test]
fn bake_breached() {
    check_view("bake_breached");
}

#[test]
fn bake_baked() {
    check_view("bake_baked");
}

#[test]
fn list_verdicts() {
    check_view("list_verdicts");
}

#[test]
fn migration_backfill() {
    check_view("migration_backfill");
}

#[test]
fn migration_unsafe() {
    check_view("migration_unsafe");
}

#[test]
fn migration_db_failing() {
    check_view("migration_db_failing");
}

#[test]
fn migration_restore() {
    check_view("migration_restore");
}

#[test]
fn migration_restore_velero() {
    check_view("migration_restore_velero");
}

#[test]
fn confirm_abort_restore() {
    check_view("confirm_abort_restore");
}

#[test]
fn list_schema() {
    check_view("list_schema");
}

#[test]
fn refused() {
    check_view("refused");
}

#[test]
fn confirm_abort_blocked() {
    check_view("confirm_abort_blocked");
}

#[test]
fn confirm_abort_override() {
    check_view("confirm_abort_override");
}

#[test]
fn list_loading() {
    check_view("list_loading");
}

#[test]
fn list_config_problems() {
    check_view("list_config_problems");
}

#[test]
fn config_problems() {
    check_view("config_problems");
}

#[test]
fn help_config_keys() {
    check_view("help_config_keys");
}

/// Tiny and odd terminals: every view draws without panicking.
#[test]
fn tiny_sizes_do_not_panic() {
    let sizes = [
        (1, 1),
        (2, 2),
        (1, 30),
        (30, 1),
        (20, 5),
        (10, 3),
        (40, 8),
        (80, 3),
        (12, 24),
    ];
    for Case { name, state, .. } in views() {
        for size in sizes {
            for theme in THEMES {
                let backend = draw(&state, theme, size);
                assert_eq!(backend.buffer().area.width, size.0, "{name} {size:?}");
            }
        }
    }
}

#[test]
fn fleet_down() {
    check_view("fleet_down");
}

#[test]
fn fleet_confirm_pause() {
    check_view("fleet_confirm_pause");
}

#[test]
fn list_flags() {
    check_view("list_flags");
}

#[test]
fn detail_flags() {
    check_view("detail_flags");
}

#[test]
fn confirm_kill_switch() {
    check_view("confirm_kill_switch");
}

#[test]
fn detail_unleash() {
    check_view("detail_unleash");
}

#[test]
fn confirm_unleash_kill_switch() {
    check_view("confirm_unleash_kill_switch");
}

#[test]
fn list_flag_suspect() {
    check_view("list_flag_suspect");
}

#[test]
fn wave() {
    check_view("wave");
}

#[test]
fn fleet_confirm_typed() {
    check_view("fleet_confirm_typed");
}
