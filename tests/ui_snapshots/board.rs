//! The board of `cutover watch` at 80×24 and 200×60: the spotlight on the
//! release needing attention, the others in flight, the healthy count, the
//! outcomes told by the fixture's Events, the header's freshness; and the
//! stale banner across the whole width once the data is older than the
//! threshold.

use super::fleet::fleet;
use super::*;
use cutover::app::board::{Board, BoardSettings, observe};
use cutover::model::{EventKind, PodInfo, TimelineEntry};
use std::collections::HashSet;

const BOARD_SIZES: [(u16, u16); 2] = [(80, 24), (200, 60)];

fn event(seconds_ago: i64, reason: &str, message: &str) -> TimelineEntry {
    TimelineEntry {
        at: Some(before_now(seconds_ago)),
        kind: EventKind::Normal,
        reason: reason.into(),
        message: message.into(),
        count: 1,
    }
}

/// The shop on the board, with a rollout of cart completed and one of
/// checkout aborted earlier, as their Events tell.
fn shop_board() -> State {
    on_the_board(shop())
}

/// `state` on the board, cart's and checkout's Events telling how their
/// last rollouts ended.
fn on_the_board(mut state: State) -> State {
    state.read_only = true;
    state.board = Some(Board::new(BoardSettings::default(), now()));
    for r in &mut state.releases {
        let r = std::sync::Arc::make_mut(r);
        match r.key.name.as_str() {
            "cart" => r.timeline.extend([
                event(
                    1200,
                    "RolloutCompleted",
                    "Rollout completed update to revision 4",
                ),
                event(1900, "RolloutUpdated", "Rollout updated to revision 4"),
            ]),
            "checkout" => r.timeline.extend([
                event(
                    3000,
                    "RolloutAborted",
                    "Rollout aborted update to revision 7",
                ),
                event(3300, "RolloutUpdated", "Rollout updated to revision 7"),
            ]),
            // The spotlight's pods, which it counts by state.
            "search" => {
                let primary = r.revisions.last_mut().expect("search's primary");
                primary.pods = (0..5)
                    .map(|i| {
                        std::sync::Arc::new(PodInfo {
                            name: format!("search-primary-58c4b7d9f6-pod{i}"),
                            status: if i < 4 { "Running" } else { "Terminating" }.into(),
                            ready: i < 4,
                            ready_containers: u32::from(i < 4),
                            containers: 1,
                            restarts: 0,
                            created: Some(before_now(600)),
                        })
                    })
                    .collect();
            }
            _ => {}
        }
        TimelineEntry::sort_newest_first(&mut r.timeline);
    }
    let keys: HashSet<ReleaseKey> = state.releases.iter().map(|r| r.key.clone()).collect();
    observe(&mut state, &keys);
    state
}

/// The board with the rollouts' watch failing for 45 s.
fn stale_board() -> State {
    failing_for_45s(shop_board(), 0)
}

/// `state` with the rollouts' watch of the context of `epoch` failing
/// for 45 s.
fn failing_for_45s(mut state: State, epoch: u64) -> State {
    let failed = Msg::Source {
        epoch,
        updates: vec![SourceUpdate::Health {
            source: "rollouts".into(),
            error: Some("503 Service Unavailable".into()),
            at: before_now(45),
        }],
    };
    update(&mut state, failed);
    update(&mut state, Msg::Tick(now()));
    state
}

#[test]
fn board_of_a_fleet_with_one_cluster_down() {
    let state = failing_for_45s(on_the_board(fleet()), 1);
    let texts = check(
        "board_fleet_down",
        "the board of a fleet, eu and us listing the same shop, us's rollouts unread for 45s: \
         each cluster's state in the header, the banner for us alone, us's rows marked with \
         their age, each release and outcome with its cluster",
        &state,
    );
    for text in texts {
        for shown in [
            "● eu",
            "✖ us",
            "STALE DATA: nothing new from us since 21:29:15 (45s ago)",
            "us ✖ 45s",
            " EU ",
        ] {
            assert!(text.contains(shown), "{shown:?} in\n{text}");
        }
        assert!(!text.contains("from eu"), "eu is live:\n{text}");
    }
}

fn check(name: &str, about: &str, state: &State) -> Vec<String> {
    let mut texts = Vec::new();
    for (width, height) in BOARD_SIZES {
        let size = format!("{width}x{height}");
        let default = draw(state, "default", (width, height));
        let mono = draw(state, "mono", (width, height));
        assert_eq!(mono.to_string(), default.to_string(), "{name} {size}");
        assert!(has_colour(default.buffer()), "{name} {size}");
        assert_colourless(mono.buffer(), &format!("{name} {size} mono"));
        assert_view_snapshot(
            &format!("{name}_{size}"),
            format!("{about}; {size}, text of both themes"),
            default.to_string(),
        );
        texts.push(default.to_string());
    }
    texts
}

#[test]
fn board_shows_every_part() {
    let state = shop_board();
    let texts = check("board", "the board of cutover watch", &state);
    let big = texts.last().expect("the biggest size");
    assert!(big.contains("4 ✔ Running · 1 • Terminating"), "{big}");
    for text in texts {
        for shown in [
            " cutover watch ",
            "ctx prod-eu-1",
            "ns shop",
            "21:30 UTC",
            "● live",
            "Spotlight 1 of",
            "Also in flight (",
            "healthy, idle",
            "Outcomes (3)",
            "completed",
            "aborted",
            "took 11m",
        ] {
            assert!(text.contains(shown), "{shown:?} in\n{text}");
        }
        assert!(
            !text.contains("-pod0"),
            "pods are counted, not named:\n{text}"
        );
        assert!(!text.contains("STALE"), "{text}");
    }
}

#[test]
fn board_stale_banner() {
    let state = stale_board();
    let texts = check(
        "board_stale",
        "the board with its data older than the threshold",
        &state,
    );
    for text in texts {
        assert!(
            text.contains("STALE DATA: nothing new from the cluster since 21:29:15 (45s ago)"),
            "{text}"
        );
    }
    // Across the whole width, in reverse video, whatever the theme.
    for (width, height) in BOARD_SIZES {
        let backend = draw(&state, "mono", (width, height));
        let rows = if height >= 40 { 1..4 } else { 1..2 };
        for y in rows {
            for x in 0..width {
                let cell = &backend.buffer()[(x, y)];
                assert!(
                    cell.modifier.contains(Modifier::REVERSED),
                    "({x}, {y}) at {width}x{height}"
                );
            }
        }
    }
}

#[test]
fn the_board_draws_on_tiny_and_huge_screens() {
    for state in [shop_board(), stale_board()] {
        for size in [(1, 1), (20, 5), (40, 8), (80, 3), (12, 24), (300, 80)] {
            let backend = draw(&state, "default", size);
            assert_eq!(backend.buffer().area.width, size.0);
        }
    }
}

/// The screen row on which `name` shows in the list of releases in flight
/// (the right half of a 200-column board).
fn in_flight_row(state: &State, name: &str) -> Option<usize> {
    let text = draw(state, "default", (200, 60)).to_string();
    let right: Vec<String> = text
        .lines()
        .map(|line| line.chars().skip(110).collect())
        .collect();
    let outcomes = right.iter().position(|l| l.contains("Outcomes"))?;
    right[..outcomes].iter().position(|l| l.contains(name))
}

#[test]
fn a_release_landing_leaves_its_row_free_and_the_others_stay_put() {
    let mut state = shop_board();
    let before = in_flight_row(&state, "frontend").expect("frontend in flight");
    let checkout = in_flight_row(&state, "checkout").expect("checkout in flight");
    assert!(checkout < before, "checkout above frontend");
    let key = {
        let r = state
            .releases
            .iter_mut()
            .find(|r| r.key.name == "checkout")
            .unwrap();
        let r = std::sync::Arc::make_mut(r);
        r.health = cutover::model::Health::Healthy;
        r.attention.clear();
        r.pause = None;
        r.key.clone()
    };
    observe(&mut state, &HashSet::from([key]));
    assert_eq!(in_flight_row(&state, "checkout"), None, "landed");
    assert_eq!(
        in_flight_row(&state, "frontend"),
        Some(before),
        "frontend keeps its row"
    );
}
