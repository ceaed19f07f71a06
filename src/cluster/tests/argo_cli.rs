//! Rollouts (and one Deployment) as real controllers write them, old and
//! new, read as `kubectl argo rollouts get` reads them: phase, message,
//! step, SetWeight and ActualWeight, the images that run with their roles,
//! the revisions and the replica counts. Then the same objects (and a
//! Flagger Canary) with one field out of range or of the wrong type: the
//! release warns of it in plain words and shows the value as unknown,
//! never as a guess. Each case is checked in the model, in the list row, in
//! the detail and in `cutover status -o json`.

use crate::app::State;
use crate::app::keymap::Keymap;
use crate::app::state::View;
use crate::app::update::rebuild_releases;
use crate::model::traffic::Weight;
use crate::model::{Health, Kind, Release, ReleaseKey};
use crate::status::release_status;
use crate::test_support::fixture::{FLAGGER_CANARY, Fixture, at};
use crate::ui::{self, theme::Theme};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use serde_json::{Value, json};

macro_rules! fixture {
    ($file:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/argo-cli/",
            $file
        ))
    };
}

/// The clock of every case: the aborted canary's scale-down deadline is
/// 20 seconds away.
const NOW: &str = "2026-03-01T12:05:10Z";

/// A value written over the fixture's: kind, name, JSON pointer, JSON.
type Edit = (&'static str, &'static str, &'static str, &'static str);

/// What Argo's CLI (or, for a Deployment, kubectl) prints for one object.
#[derive(Clone)]
struct Case {
    yaml: &'static str,
    /// Malformed values written over the fixture's.
    edits: &'static [Edit],
    kind: Kind,
    name: &'static str,
    health: Health,
    phase: &'static str,
    message: &'static str,
    /// `Step:` (a canary with steps and a current step index), or for
    /// Flagger the list's weight against its maximum.
    step: Option<&'static str>,
    /// `SetWeight:` and `ActualWeight:` (every canary).
    weights: (Weight, Weight),
    /// `Images:`, one line each.
    images: &'static [&'static str],
    canary_image: Option<&'static str>,
    stable_image: Option<&'static str>,
    /// Newest first: revision, role tags, ReplicaSet health, pods seen.
    revisions: &'static [(u64, &'static str, &'static str, usize)],
    /// Desired, Current, Updated, Ready, Available (None: unknown).
    replicas: [Option<i64>; 5],
    /// The release's warnings, in order.
    warnings: &'static [&'static str],
}

const REGISTRY: &str = "registry.example/shop/";

impl Case {
    /// Argo's `Step:`, which Flagger has not.
    fn argo_step(&self) -> Option<&'static str> {
        self.step.filter(|_| self.kind != Kind::Canary)
    }
}

const NO_WEIGHTS: (Weight, Weight) = (Weight::Absent, Weight::Absent);

fn known(desired: u32, applied: u32) -> (Weight, Weight) {
    (Weight::Known(desired), Weight::Known(applied))
}

fn counts(replicas: [i64; 5]) -> [Option<i64>; 5] {
    replicas.map(Some)
}

fn well_formed() -> Vec<Case> {
    vec![
        Case {
            yaml: fixture!("paused-without-phase.yaml"),
            edits: &[],
            kind: Kind::Rollout,
            name: "cart",
            health: Health::Paused,
            phase: "Paused",
            message: "CanaryPauseStep",
            step: Some("1/4"),
            weights: known(25, 25),
            images: &["cart:2.0.3 (stable)", "cart:2.1.0 (canary)"],
            canary_image: Some("cart:2.1.0"),
            stable_image: Some("cart:2.0.3"),
            revisions: &[
                (3, "canary", "Healthy", 0),
                (2, "stable", "Healthy", 0),
                (1, "", "ScaledDown", 0),
            ],
            replicas: counts([4, 4, 1, 4, 4]),
            warnings: &[],
        },
        Case {
            yaml: fixture!("observed-ahead.yaml"),
            edits: &[],
            kind: Kind::Rollout,
            name: "inventory",
            health: Health::Healthy,
            phase: "Healthy",
            message: "",
            step: Some("3/3"),
            weights: known(100, 100),
            images: &["inventory:5.4.0 (stable)"],
            canary_image: None,
            stable_image: Some("inventory:5.4.0"),
            revisions: &[(4, "stable", "Healthy", 0), (3, "", "ScaledDown", 0)],
            replicas: counts([2, 2, 2, 2, 2]),
            warnings: &[],
        },
        Case {
            yaml: fixture!("progress-deadline.yaml"),
            edits: &[],
            kind: Kind::Rollout,
            name: "web",
            health: Health::Degraded,
            phase: "Degraded",
            message: "ProgressDeadlineExceeded: ReplicaSet \"web-65fb5ffc84\" has timed out progressing.",
            step: Some("0/8"),
            weights: known(20, 0),
            images: &["web:1.8.4 (stable)", "web:1.9.0-does-not-exist (canary)"],
            canary_image: Some("web:1.9.0-does-not-exist"),
            stable_image: Some("web:1.8.4"),
            // The pods' owners say extensions/v1beta1.
            revisions: &[
                (31, "canary", "Progressing", 1),
                (30, "stable", "Healthy", 1),
                (29, "", "ScaledDown", 0),
            ],
            replicas: counts([5, 6, 1, 5, 5]),
            warnings: &[],
        },
        Case {
            yaml: fixture!("invalid-spec.yaml"),
            edits: &[],
            kind: Kind::Rollout,
            name: "billing",
            health: Health::Degraded,
            phase: "Degraded",
            message: "InvalidSpec: The Rollout \"billing\" is invalid: spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"doesnt-match\"}: `selector` does not match template `labels`",
            step: None,
            weights: known(100, 100),
            images: &[],
            canary_image: None,
            stable_image: None,
            revisions: &[],
            replicas: counts([1, 0, 0, 0, 0]),
            warnings: &[],
        },
        Case {
            yaml: fixture!("aborted.yaml"),
            edits: &[],
            kind: Kind::Rollout,
            name: "orders",
            health: Health::Degraded,
            phase: "Degraded",
            message: "RolloutAborted: Rollout aborted update to revision 7",
            step: Some("0/4"),
            weights: known(0, 0),
            // Until its scale-down deadline the aborted canary still runs.
            images: &["orders:3.2.0 (stable)", "orders:3.3.0 (canary)"],
            canary_image: Some("orders:3.3.0"),
            stable_image: Some("orders:3.2.0"),
            revisions: &[(7, "canary", "Healthy", 0), (6, "stable", "Healthy", 0)],
            replicas: counts([4, 5, 1, 5, 5]),
            warnings: &[],
        },
        Case {
            yaml: fixture!("bluegreen-paused.yaml"),
            edits: &[],
            kind: Kind::Rollout,
            name: "accounts",
            health: Health::Paused,
            phase: "Paused",
            message: "BlueGreenPause",
            step: None,
            weights: NO_WEIGHTS,
            images: &[
                "accounts:1.1.0 (stable, active)",
                "accounts:1.2.0 (preview)",
            ],
            canary_image: Some("accounts:1.2.0"),
            stable_image: Some("accounts:1.1.0"),
            revisions: &[
                (5, "preview", "Healthy", 0),
                (4, "stable,active", "Healthy", 0),
                (3, "", "ScaledDown", 0),
            ],
            replicas: counts([3, 6, 3, 6, 6]),
            warnings: &[],
        },
        Case {
            yaml: fixture!("canary-without-steps.yaml"),
            edits: &[],
            kind: Kind::Rollout,
            name: "catalog",
            health: Health::Progressing,
            phase: "Progressing",
            message: "more replicas need to be updated",
            step: None,
            weights: known(100, 100),
            images: &["catalog:4.0.0 (stable)", "catalog:4.1.0 (canary)"],
            canary_image: Some("catalog:4.1.0"),
            stable_image: Some("catalog:4.0.0"),
            revisions: &[(2, "canary", "Progressing", 0), (1, "stable", "Healthy", 0)],
            replicas: counts([3, 4, 2, 3, 3]),
            warnings: &[],
        },
        Case {
            yaml: fixture!("scaled-down-canary.yaml"),
            edits: &[],
            kind: Kind::Rollout,
            name: "reports",
            health: Health::Degraded,
            phase: "Degraded",
            message: "RolloutAborted: metric \"web\" assessed Failed due to failed (1) > failureLimit (0)",
            step: Some("0/2"),
            weights: known(0, 0),
            // The canary is history: tagged in the revisions, not running.
            images: &["reports:1.0.0 (stable)"],
            canary_image: None,
            stable_image: Some("reports:1.0.0"),
            revisions: &[(2, "canary", "ScaledDown", 0), (1, "stable", "Healthy", 0)],
            replicas: counts([1, 1, 0, 1, 1]),
            warnings: &[],
        },
        Case {
            yaml: fixture!("deployment-extensions-owners.yaml"),
            edits: &[],
            kind: Kind::Deployment,
            name: "legacy-api",
            health: Health::Healthy,
            phase: "Healthy",
            // kubectl's own sentence once the rollout is done.
            message: "deployment \"legacy-api\" successfully rolled out",
            step: None,
            weights: NO_WEIGHTS,
            images: &["legacy-api:0.9.1 (stable)"],
            canary_image: None,
            stable_image: Some("legacy-api:0.9.1"),
            revisions: &[(4, "stable", "Healthy", 2), (3, "", "ScaledDown", 0)],
            replicas: counts([2, 2, 2, 2, 2]),
            warnings: &[],
        },
        Case {
            yaml: FLAGGER_CANARY,
            edits: &[],
            kind: Kind::Canary,
            name: "search",
            health: Health::Progressing,
            phase: "Progressing",
            message: "New revision detected, progressing canary analysis.",
            step: Some("20/50%"),
            weights: (Weight::Absent, Weight::Known(20)),
            images: &["search:2.4.0 (stable)", "search:2.5.0 (canary)"],
            canary_image: Some("search:2.5.0"),
            stable_image: Some("search:2.4.0"),
            revisions: &[(2, "canary", "Healthy", 0), (1, "stable", "Healthy", 0)],
            replicas: counts([3, 3, 3, 3, 3]),
            warnings: &[],
        },
    ]
}

/// The well-formed cases with malformed values written over theirs.
fn malformed(well_formed: &[Case]) -> Vec<Case> {
    let base = |name: &str| {
        well_formed
            .iter()
            .find(|c| c.name == name)
            .cloned()
            .unwrap_or_else(|| panic!("a case named {name}"))
    };
    let cart = base("cart");
    let orders = base("orders");
    let search = base("search");
    let unknown = Weight::Unknown;
    vec![
        Case {
            edits: &[("Rollout", "cart", "/status/currentStepIndex", "7")],
            step: Some("?/4"),
            weights: (unknown, unknown),
            warnings: &["status.currentStepIndex is 7 but the rollout has 4 steps"],
            ..cart.clone()
        },
        Case {
            edits: &[(
                "Rollout",
                "cart",
                "/spec/strategy/canary/steps/0/setWeight",
                "-20",
            )],
            // One of four pods is new: a basic canary's ActualWeight.
            weights: (unknown, Weight::Known(25)),
            warnings: &["spec.strategy.canary.steps[0].setWeight is -20: weights are 0–100"],
            ..cart.clone()
        },
        Case {
            edits: &[("Rollout", "cart", "/spec/replicas", "\"3\"")],
            replicas: [None, Some(4), Some(1), Some(4), Some(4)],
            warnings: &["spec.replicas is \"3\": expected a whole number"],
            ..cart
        },
        Case {
            edits: &[("Rollout", "orders", "/status/phase", "\"Weird\"")],
            health: Health::Unknown,
            phase: "Weird",
            warnings: &[
                "status.phase is \"Weird\": Argo Rollouts writes Healthy, Progressing, Paused or Degraded",
            ],
            ..orders.clone()
        },
        Case {
            edits: &[(
                "Rollout",
                "orders",
                "/status/canary/weights/canary/weight",
                "150",
            )],
            weights: (Weight::Known(0), unknown),
            warnings: &["status.canary.weights.canary.weight is 150: weights are 0–100"],
            ..orders.clone()
        },
        Case {
            edits: &[(
                "VirtualService",
                "orders",
                "/spec/http/0/route/1/weight",
                "150",
            )],
            warnings: &[
                "VirtualService/orders spec.http[0].route[1].weight is 150: weights are 0–100",
            ],
            ..orders
        },
        Case {
            edits: &[(
                "Deployment",
                "legacy-api",
                "/status/availableReplicas",
                "-2",
            )],
            health: Health::Unknown,
            phase: "Unknown",
            message: "phase unknown: a replica count is malformed",
            weights: (Weight::Absent, unknown),
            replicas: [Some(2), Some(2), Some(2), Some(2), None],
            warnings: &["status.availableReplicas is -2: replica counts cannot be negative"],
            ..base("legacy-api")
        },
        Case {
            edits: &[("Canary", "search", "/status/phase", "\"Weird\"")],
            health: Health::Unknown,
            phase: "Weird",
            warnings: &[
                "status.phase is \"Weird\": Flagger writes Initializing, Initialized, Waiting, Progressing, WaitingPromotion, Promoting, Finalising, Succeeded, Failed, Terminating or Terminated",
            ],
            ..search.clone()
        },
        Case {
            edits: &[
                ("Canary", "search", "/status/canaryWeight", "150"),
                ("Canary", "search", "/spec/analysis/maxWeight", "true"),
                ("Canary", "search", "/spec/analysis/stepWeight", "-5"),
            ],
            step: Some("?/?%"),
            weights: (Weight::Absent, unknown),
            warnings: &[
                "spec.analysis.maxWeight is true: expected a whole number",
                "status.canaryWeight is 150: weights are 0–100",
                "spec.analysis.stepWeight is -5: weights are 0–100",
            ],
            ..search
        },
    ]
}

fn cases() -> Vec<Case> {
    let mut cases = well_formed();
    cases.extend(malformed(&cases));
    cases
}

/// The control room on namespace `shop` with the case's objects, read-only.
fn state_of(case: &Case) -> State {
    let mut state = State::new(at(NOW), true, Keymap::default());
    state.home.scope.context = "legacy".into();
    state.home.scope.namespace = Some("shop".into());
    let mut fixture = Fixture::load(&[case.yaml]);
    for &(kind, name, pointer, value) in case.edits {
        let value = serde_json::from_str(value).expect("a JSON value");
        fixture.set(kind, name, pointer, value);
    }
    state.home.cluster = crate::cluster::Catalog::new(fixture.objects());
    rebuild_releases(&mut state);
    state
}

fn key(case: &Case) -> ReleaseKey {
    ReleaseKey {
        cluster: String::new(),
        kind: case.kind,
        namespace: "shop".into(),
        name: case.name.into(),
    }
}

/// The screen's rows as text, drawn in the mono theme.
fn screen(state: &State, width: u16, height: u16) -> Vec<String> {
    let theme = Theme::load("mono").expect("the mono theme");
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("a test terminal");
    terminal
        .draw(|frame| ui::draw(frame, state, &theme))
        .expect("drawn");
    let buffer = terminal.backend().buffer();
    (0..height)
        .map(|y| (0..width).map(|x| buffer[(x, y)].symbol()).collect())
        .collect()
}

fn image(short: Option<&str>) -> Option<String> {
    short.map(|s| format!("{REGISTRY}{s}"))
}

/// Images of the release's revisions that do not run.
fn idle_images(r: &Release) -> Vec<String> {
    r.revisions
        .iter()
        .filter(|rev| !rev.runs())
        .flat_map(|rev| rev.images.iter().cloned())
        .filter(|i| r.running_images().iter().all(|running| &running.image != i))
        .collect()
}

fn check_model(case: &Case, r: &Release) {
    let what = case.name;
    assert_eq!(
        (r.health, r.phase.as_str(), r.message.as_str()),
        (case.health, case.phase, case.message),
        "{what}: phase"
    );
    assert_eq!(r.step_text().as_deref(), case.argo_step(), "{what}: step");
    assert_eq!(
        (r.weights.desired, r.weights.applied),
        case.weights,
        "{what}: SetWeight and ActualWeight"
    );
    assert_eq!(r.warnings, case.warnings, "{what}: warnings");
    assert_eq!(
        r.needs_attention(),
        !r.attention.is_empty() || !case.warnings.is_empty(),
        "{what}: a release with warnings needs attention"
    );
    let images: Vec<String> = r.running_images().iter().map(|i| i.text()).collect();
    let expected: Vec<String> = case
        .images
        .iter()
        .map(|i| format!("{REGISTRY}{i}"))
        .collect();
    assert_eq!(images, expected, "{what}: images");
    assert_eq!(
        r.canary_image().map(str::to_string),
        image(case.canary_image),
        "{what}"
    );
    assert_eq!(
        r.stable_image().map(str::to_string),
        image(case.stable_image),
        "{what}"
    );
    let revisions: Vec<(u64, String, &str, usize)> = r
        .revisions
        .iter()
        .map(|rev| {
            (
                rev.number.unwrap_or_default(),
                rev.role_words().join(","),
                rev.health().word(),
                rev.pods.len(),
            )
        })
        .collect();
    let expected: Vec<(u64, String, &str, usize)> = case
        .revisions
        .iter()
        .map(|&(n, roles, health, pods)| (n, roles.to_string(), health, pods))
        .collect();
    assert_eq!(revisions, expected, "{what}: revisions");
    let p = &r.replicas;
    assert_eq!(
        [p.desired, p.current, p.updated, p.ready, p.available],
        case.replicas,
        "{what}: replicas"
    );
}

fn check_list(case: &Case, state: &State, r: &Release) {
    let rows = screen(state, 200, 12);
    let row = rows
        .iter()
        .find(|row| row.contains(&format!(" {} ", case.name)))
        .unwrap_or_else(|| panic!("{} listed:\n{}", case.name, rows.join("\n")));
    let (set, actual) = case.weights;
    let name = match case.warnings.is_empty() {
        true => format!(" {} ", case.name),
        false => format!(" {} ? ", case.name),
    };
    let mut cells = vec![
        name,
        format!("{} {}", case.health.symbol(), case.phase),
        case.step.unwrap_or("-").to_string(),
        format!("{}/{}", set.text(), actual.text()),
    ];
    cells.extend(case.canary_image.map(str::to_string));
    cells.extend(case.stable_image.map(str::to_string));
    for cell in cells {
        assert!(row.contains(&cell), "{}: {cell:?} in {row:?}", case.name);
    }
    for idle in idle_images(r) {
        let short = ui::short_image(&idle);
        assert!(
            !row.contains(short),
            "{}: {short} does not run: {row:?}",
            case.name
        );
    }
}

fn check_detail(case: &Case, state: &mut State, r: &Release) {
    state.view = View::Detail(key(case));
    let text = screen(state, 240, 80);
    let field = |label: &str, value: &str| format!("{label:<16}{value}");
    let has = |needle: &str| text.iter().any(|line| line.contains(needle));
    let what = case.name;
    let mut wanted = vec![field(
        "Status:",
        &format!("{} {}", case.health.symbol(), case.phase),
    )];
    if case.message.is_empty() {
        assert!(!has("Message:"), "{what}: no message");
    } else {
        // The start of the message: a long one wraps.
        let start: String = case.message.chars().take(60).collect();
        wanted.push(field("Message:", &start));
    }
    match case.argo_step() {
        Some(step) => wanted.push(field("  Step:", step)),
        None => assert!(!has("  Step:"), "{what}: no step"),
    }
    let (set, actual) = case.weights;
    for (label, weight) in [("  SetWeight:", set), ("  ActualWeight:", actual)] {
        match weight {
            Weight::Absent => assert!(!has(label), "{what}: no {label}"),
            w => wanted.push(field(label, &w.text())),
        }
    }
    if case.warnings.is_empty() {
        assert!(!has("Warnings:"), "{what}: no warnings");
    } else {
        wanted.push(field("Warnings:", "fields that cannot be read, shown as ?"));
    }
    for warning in case.warnings {
        // The start of it: a long one wraps.
        wanted.push(format!(
            "? {}",
            warning.chars().take(50).collect::<String>()
        ));
    }
    for (i, image) in case.images.iter().enumerate() {
        let label = if i == 0 { "Images:" } else { "" };
        wanted.push(field(label, &format!("{REGISTRY}{image}")));
    }
    if case.images.is_empty() {
        assert!(!has("Images:"), "{what}: no images");
    }
    wanted.push("Replicas:".into());
    let labels = ["Desired:", "Current:", "Updated:", "Ready:", "Available:"];
    for (label, count) in labels.iter().zip(case.replicas) {
        let count = count.map_or("?".into(), |c| c.to_string());
        wanted.push(field(&format!("  {label}"), &count));
    }
    for (rev, &(number, roles, health, _)) in r.revisions.iter().zip(case.revisions) {
        wanted.push(format!("# revision:{number}"));
        let symbol = rev.health().symbol();
        let line = text
            .iter()
            .find(|line| line.contains(&format!("⧉ {} ", rev.replica_set)))
            .unwrap_or_else(|| panic!("{what}: {} in the tree", rev.replica_set));
        assert!(
            line.contains(&format!("  {symbol} {health}  ")),
            "{what}: {line}"
        );
        assert!(line.contains(&format!("  {roles}")), "{what}: {line}");
    }
    for line in wanted {
        assert!(
            has(&line),
            "{what}: {line:?} in the detail:\n{}",
            text.join("\n")
        );
    }
    for idle in idle_images(r) {
        assert!(
            !text.iter().any(|l| l.contains(&format!("{idle} ("))),
            "{what}: {idle} does not run"
        );
    }
}

fn check_status(case: &Case, state: &State, r: &Release) {
    let status = serde_json::to_value(release_status(r, state, None)).expect("JSON");
    let what = case.name;
    let (set, actual) = case.weights;
    let step = case.argo_step().map(|s| {
        let (current, total) = s.split_once('/').expect("N/M");
        json!({"current": current.parse::<u64>().ok(), "total": total.parse::<u64>().unwrap()})
    });
    let read_step =
        |s: &Value| (!s.is_null()).then(|| json!({"current": s["current"], "total": s["total"]}));
    assert_eq!(read_step(&status["step"]), step, "{what}: step");
    assert_eq!(
        (&status["health"], &status["phase"], &status["message"]),
        (
            &json!(format!("{:?}", case.health)),
            &json!(case.phase),
            &json!(case.message)
        ),
        "{what}"
    );
    assert_eq!(
        (&status["weights"]["desired"], &status["weights"]["applied"]),
        (&json!(set.known()), &json!(actual.known())),
        "{what}: weights"
    );
    assert_eq!(status["warnings"], json!(case.warnings), "{what}: warnings");
    let images: Vec<String> = status["images"]
        .as_array()
        .expect("images")
        .iter()
        .map(|i| {
            let roles: Vec<&str> = i["roles"]
                .as_array()
                .expect("roles")
                .iter()
                .filter_map(Value::as_str)
                .collect();
            let image = i["image"].as_str().expect("an image");
            match roles.is_empty() {
                true => image.to_string(),
                false => format!("{image} ({})", roles.join(", ")),
            }
        })
        .collect();
    let expected: Vec<String> = case
        .images
        .iter()
        .map(|i| format!("{REGISTRY}{i}"))
        .collect();
    assert_eq!(images, expected, "{what}: images");
    assert_eq!(
        status["canaryImage"],
        json!(image(case.canary_image)),
        "{what}"
    );
    assert_eq!(
        status["stableImage"],
        json!(image(case.stable_image)),
        "{what}"
    );
    let [desired, current, updated, ready, available] = case.replicas;
    assert_eq!(
        status["replicas"],
        json!({"desired": desired, "current": current, "updated": updated,
               "ready": ready, "available": available}),
        "{what}: replicas"
    );
    let revisions: Vec<Value> = status["revisions"]
        .as_array()
        .expect("revisions")
        .iter()
        .map(|rev| json!([rev["number"], rev["roles"], rev["health"]]))
        .collect();
    let expected: Vec<Value> = case
        .revisions
        .iter()
        .map(|&(number, roles, health, _)| {
            let roles: Vec<&str> = roles.split(',').filter(|r| !r.is_empty()).collect();
            json!([number, roles, health])
        })
        .collect();
    assert_eq!(revisions, expected, "{what}: revisions");
}

#[test]
fn read_as_argos_cli_reads_them_in_model_list_detail_and_status() {
    for case in cases() {
        let mut state = state_of(&case);
        let r = state
            .release(&key(&case))
            .unwrap_or_else(|| panic!("{} among the releases", case.name))
            .clone();
        check_model(&case, &r);
        check_list(&case, &state, &r);
        check_status(&case, &state, &r);
        check_detail(&case, &mut state, &r);
    }
}
