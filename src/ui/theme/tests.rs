//! Every built-in theme: whole, legible, and true to its promise (no
//! red/green pair in colour-blind, the 16 colours in ansi16, none in mono).
//!
//! Legibility is WCAG's contrast ratio between a style's text and its
//! background, as drawn: named colours as xterm's default palette paints
//! them, indexes as the xterm 256-colour palette, and the terminal's own
//! colours (`reset`) as black on white for a light theme and light grey
//! (xterm's colour 7) on black for a dark one.

use super::*;
use crate::ui::glyphs::Glyphs;

/// Ordinary text, the cursor row and the stale banner: WCAG AA for text.
const TEXT: f64 = 4.5;
/// Coloured statuses and secondary text: WCAG's minimum for large text
/// and interface parts. Enough because colour only reinforces: every
/// status also carries a symbol and a word.
const SECONDARY: f64 = 3.0;
/// The high-contrast theme keeps WCAG AAA: 7:1 for text, 4.5:1 for the rest.
const HIGH_TEXT: f64 = 7.0;
const HIGH_SECONDARY: f64 = 4.5;

type Rgb = (u8, u8, u8);

/// xterm's default colours 0-15.
const XTERM_16: [Rgb; 16] = [
    (0x00, 0x00, 0x00),
    (0xcd, 0x00, 0x00),
    (0x00, 0xcd, 0x00),
    (0xcd, 0xcd, 0x00),
    (0x00, 0x00, 0xee),
    (0xcd, 0x00, 0xcd),
    (0x00, 0xcd, 0xcd),
    (0xe5, 0xe5, 0xe5),
    (0x7f, 0x7f, 0x7f),
    (0xff, 0x00, 0x00),
    (0x00, 0xff, 0x00),
    (0xff, 0xff, 0x00),
    (0x5c, 0x5c, 0xff),
    (0xff, 0x00, 0xff),
    (0x00, 0xff, 0xff),
    (0xff, 0xff, 0xff),
];

/// The 16 named colours, in palette order.
const NAMED: [Color; 16] = [
    Color::Black,
    Color::Red,
    Color::Green,
    Color::Yellow,
    Color::Blue,
    Color::Magenta,
    Color::Cyan,
    Color::Gray,
    Color::DarkGray,
    Color::LightRed,
    Color::LightGreen,
    Color::LightYellow,
    Color::LightBlue,
    Color::LightMagenta,
    Color::LightCyan,
    Color::White,
];

/// Where a colour is drawn: the terminal's own differs for each.
#[derive(Clone, Copy)]
enum Layer {
    Text,
    Ground,
}

fn rgb(colour: Color, layer: Layer, kind: BackgroundKind) -> Rgb {
    if let Some(i) = NAMED.iter().position(|&c| c == colour) {
        return XTERM_16[i];
    }
    match colour {
        Color::Indexed(i) => indexed(i),
        Color::Rgb(r, g, b) => (r, g, b),
        _ => match (layer, kind) {
            (Layer::Text, BackgroundKind::Dark) => XTERM_16[7],
            (Layer::Ground, BackgroundKind::Dark) => XTERM_16[0],
            (Layer::Text, BackgroundKind::Light) => XTERM_16[0],
            (Layer::Ground, BackgroundKind::Light) => XTERM_16[15],
        },
    }
}

/// The xterm 256-colour palette: 16 named, a 6×6×6 cube, 24 greys.
fn indexed(i: u8) -> Rgb {
    const LEVELS: [u8; 6] = [0, 95, 135, 175, 215, 255];
    match i {
        0..=15 => XTERM_16[usize::from(i)],
        16..=231 => {
            let n = usize::from(i - 16);
            (LEVELS[n / 36], LEVELS[n / 6 % 6], LEVELS[n % 6])
        }
        _ => {
            let grey = 8 + 10 * (i - 232);
            (grey, grey, grey)
        }
    }
}

fn luminance((r, g, b): Rgb) -> f64 {
    let linear = |c: u8| {
        let c = f64::from(c) / 255.0;
        if c <= 0.03928 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)
}

fn ratio(a: Rgb, b: Rgb) -> f64 {
    let (la, lb) = (luminance(a), luminance(b));
    (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
}

/// The text and background colours `style` is drawn in, over the theme's
/// text and background, reverse video applied.
fn drawn(theme: &Theme, style: Style) -> (Rgb, Rgb) {
    let own = |c: Option<Color>, base: Color| c.filter(|&c| c != Color::Reset).unwrap_or(base);
    let text = rgb(own(style.fg, theme.text), Layer::Text, theme.kind);
    let ground = rgb(own(style.bg, theme.background), Layer::Ground, theme.kind);
    if style.add_modifier.contains(Modifier::REVERSED) {
        (ground, text)
    } else {
        (text, ground)
    }
}

/// Every style a theme gives the views, named, with whether it is
/// ordinary text (held to the text threshold) or a status.
fn every_style(t: &Theme) -> Vec<(String, Style, bool)> {
    let mut styles = vec![
        ("text".to_string(), Style::default(), true),
        ("selected".into(), t.selected(), true),
        ("stale banner".into(), t.stale_banner(), true),
        ("heading".into(), t.heading(), false),
        ("muted".into(), t.muted(), false),
        ("attention".into(), t.attention(), false),
        ("recommendation".into(), t.recommendation(), false),
        ("badge".into(), t.badge(), false),
        ("warning".into(), t.warning(), false),
        ("marker".into(), t.marker(), false),
    ];
    let mut add = |name: String, style: Style| styles.push((name, style, false));
    for h in Health::ALL {
        add(format!("health {h:?}"), t.health(h));
    }
    for r in [
        Role::Stable,
        Role::Active,
        Role::Canary,
        Role::Preview,
        Role::Old,
    ] {
        add(format!("role {r:?}"), t.role(r));
    }
    for v in [
        Verdict::Pass,
        Verdict::Marginal,
        Verdict::Fail,
        Verdict::NoData,
    ] {
        add(format!("verdict {v:?}"), t.verdict(v));
    }
    for c in [
        MetricClass::Pass,
        MetricClass::High,
        MetricClass::Low,
        MetricClass::NoData,
        MetricClass::Error,
    ] {
        add(format!("metric {c:?}"), t.metric_class(c));
    }
    for g in [GateOutcome::Pass, GateOutcome::Fail, GateOutcome::NoData] {
        add(format!("gate {g:?}"), t.gate(g));
    }
    for p in [
        PhaseState::Pending,
        PhaseState::Running,
        PhaseState::Done,
        PhaseState::Failed,
    ] {
        add(format!("phase {p:?}"), t.phase(p));
    }
    for s in [
        RollbackSafety::Safe,
        RollbackSafety::Unsafe(String::new()),
        RollbackSafety::Unknown(String::new()),
    ] {
        add(format!("rollback {s:?}"), t.rollback(&s));
    }
    styles
}

fn built_in() -> Vec<Theme> {
    Theme::names()
        .into_iter()
        .map(|n| Theme::built_in(n).unwrap())
        .collect()
}

#[test]
fn every_built_in_theme_parses_under_its_own_name() {
    assert_eq!(
        Theme::names(),
        [
            "default",
            "light",
            "high-contrast",
            "colour-blind",
            "ansi16",
            "mono"
        ]
    );
    for theme in built_in() {
        assert!(Theme::names().contains(&theme.name.as_str()));
    }
    assert_eq!(Theme::for_environment(true).name, "mono");
    assert_eq!(Theme::for_environment(false).name, "default");
}

#[test]
fn a_missing_slot_is_an_error_naming_it() {
    let whole = library::BUILT_IN[0].1;
    for slot in COLOUR_SLOTS {
        let without: String = whole
            .lines()
            .filter(|l| !l.starts_with(&format!("{slot} =")))
            .map(|l| format!("{l}\n"))
            .collect();
        let err = Theme::parse(&without).unwrap_err();
        assert_eq!(err, format!("missing colour {slot:?} in [colors]"));
    }
    for table in ["selection", "stale_banner"] {
        let cut = whole.split(&format!("[{table}]")).next().unwrap();
        let err = Theme::parse(cut).unwrap_err();
        assert!(err.contains(&format!("missing field `{table}`")), "{err}");
    }
}

#[test]
fn a_bad_theme_says_why() {
    let whole = library::BUILT_IN[0].1;
    let cases = [
        (
            "ok = \"114\"",
            "ok = \"chartreuse-ish\"",
            "ok: unknown colour",
        ),
        (
            "ok = \"114\"",
            "okk = \"114\"",
            "unknown colour slot \"okk\" in [colors]: did you mean \"ok\"?",
        ),
        (
            "[\"bold\"]",
            "[\"blinking\"]",
            "stale_banner.modifiers: unknown modifier \"blinking\"",
        ),
        (
            "bg = \"160\"",
            "bg = \"crimson\"",
            "stale_banner.bg: unknown colour",
        ),
        ("kind = \"dark\"", "kind = \"dim\"", "unknown variant `dim`"),
    ];
    for (from, to, expected) in cases {
        let err = Theme::parse(&whole.replacen(from, to, 1)).unwrap_err();
        assert!(err.contains(expected), "{to}: {err}");
    }
}

#[test]
fn every_theme_keeps_its_text_legible() {
    for theme in built_in() {
        let (text, secondary) = match theme.name.as_str() {
            "high-contrast" => (HIGH_TEXT, HIGH_SECONDARY),
            _ => (TEXT, SECONDARY),
        };
        for (name, style, is_text) in every_style(&theme) {
            let least = if is_text { text } else { secondary };
            let (fg, bg) = drawn(&theme, style);
            let got = ratio(fg, bg);
            assert!(
                got >= least,
                "{}: {name} is {got:.2}:1 ({fg:?} on {bg:?}), below {least}:1",
                theme.name
            );
            // On the cursor row too.
            let on_row = style.patch(theme.selected());
            let (fg, bg) = drawn(&theme, on_row);
            let got = ratio(fg, bg);
            assert!(
                got >= least,
                "{}: {name} on the cursor row is {got:.2}:1, below {least}:1",
                theme.name
            );
        }
    }
}

#[test]
fn contrast_is_measured_as_wcag_says() {
    assert!((ratio((0, 0, 0), (255, 255, 255)) - 21.0).abs() < 1e-9);
    assert!((ratio((1, 2, 3), (1, 2, 3)) - 1.0).abs() < 1e-9);
    assert_eq!(indexed(196), (255, 0, 0));
    assert_eq!(indexed(114), (135, 215, 135));
    assert_eq!(indexed(244), (128, 128, 128));
    // xterm's blue on black is the classic unreadable pair.
    assert!(ratio(XTERM_16[4], XTERM_16[0]) < SECONDARY);
}

/// The hue of a colour as drawn, in degrees, if it has one to speak of.
fn hue(theme: &Theme, colour: Color) -> Option<f64> {
    let (r, g, b) = rgb(colour, Layer::Text, theme.kind);
    let [r, g, b] = [r, g, b].map(|c| f64::from(c) / 255.0);
    let (max, min) = (r.max(g).max(b), r.min(g).min(b));
    let chroma = max - min;
    if chroma < 0.25 {
        return None;
    }
    let h = if max == r {
        ((g - b) / chroma).rem_euclid(6.0)
    } else if max == g {
        (b - r) / chroma + 2.0
    } else {
        (r - g) / chroma + 4.0
    };
    Some(h * 60.0)
}

fn is_red(h: f64) -> bool {
    !(15.0..330.0).contains(&h)
}

fn is_green(h: f64) -> bool {
    (75.0..=165.0).contains(&h)
}

#[test]
fn colour_blind_has_no_red_green_pair_carrying_meaning() {
    let theme = Theme::built_in("colour-blind").unwrap();
    let meaningful = [
        ("ok", theme.ok),
        ("warn", theme.warn),
        ("bad", theme.bad),
        ("info", theme.info),
        ("canary", theme.canary),
        ("stable", theme.stable),
        ("preview", theme.preview),
    ];
    for (a, ca) in meaningful {
        for (b, cb) in meaningful {
            if let (Some(ha), Some(hb)) = (hue(&theme, ca), hue(&theme, cb)) {
                assert!(
                    !(is_red(ha) && is_green(hb)),
                    "{a} ({ha:.0}°) and {b} ({hb:.0}°) are a red/green pair"
                );
            }
        }
    }
    // The check catches the pair the other themes use.
    let default = Theme::built_in("default").unwrap();
    let (ok, bad) = (hue(&default, default.ok), hue(&default, default.bad));
    assert!(is_green(ok.unwrap()) && is_red(bad.unwrap()));
}

/// Every colour a theme's styles and ground use.
fn colours(theme: &Theme) -> Vec<(String, Color)> {
    let mut all = vec![
        ("text".to_string(), theme.text),
        ("background".into(), theme.background),
    ];
    for (name, style, _) in every_style(theme) {
        all.extend(style.fg.map(|c| (format!("{name} fg"), c)));
        all.extend(style.bg.map(|c| (format!("{name} bg"), c)));
    }
    all
}

#[test]
fn ansi16_uses_only_the_16_colours_and_mono_none() {
    let ansi16 = Theme::built_in("ansi16").unwrap();
    for (name, c) in colours(&ansi16) {
        assert!(
            c == Color::Reset || NAMED.contains(&c),
            "ansi16: {name} is {c:?}"
        );
    }
    let mono = Theme::built_in("mono").unwrap();
    for (name, c) in colours(&mono) {
        assert_eq!(c, Color::Reset, "mono: {name} has a colour");
    }
    let loud = Modifier::BOLD | Modifier::REVERSED;
    assert!(mono.stale_banner().add_modifier.contains(loud));
    assert!(mono.selected().add_modifier.contains(Modifier::REVERSED));
}

#[test]
fn the_ground_is_painted_only_by_themes_that_have_one() {
    let mut buffer = Buffer::empty(ratatui::layout::Rect::new(0, 0, 2, 1));
    buffer[(1, 0)].set_fg(Color::Indexed(1));
    let mut painted = buffer.clone();
    Theme::built_in("default")
        .unwrap()
        .paint_ground(&mut painted);
    assert_eq!(painted, buffer, "the terminal's own colours are kept");
    let light = Theme::built_in("light").unwrap();
    light.paint_ground(&mut painted);
    assert_eq!(painted[(0, 0)].fg, light.text);
    assert_eq!(painted[(0, 0)].bg, light.background);
    assert_eq!(painted[(1, 0)].fg, Color::Indexed(1));
}

fn write(dir: &std::path::Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// The default theme's text under another name.
fn renamed(name: &str) -> String {
    library::BUILT_IN[0]
        .1
        .replace("name = \"default\"", &format!("name = \"{name}\""))
}

#[test]
fn the_users_themes_come_after_the_built_in_ones() {
    let dir = tempfile::tempdir().unwrap();
    let library = ThemeLibrary::in_folder(dir.path().to_path_buf());
    write(dir.path(), "prod.toml", &renamed("prod"));
    write(dir.path(), "mono.toml", &renamed("my-mono"));
    write(dir.path(), "broken.toml", "name = \"broken\"\n");
    assert_eq!(library.load("prod").unwrap().name, "prod");
    assert_eq!(
        library.load("mono").unwrap().name,
        "mono",
        "the built-in wins"
    );
    assert!(
        library
            .shadow_warning("mono")
            .unwrap()
            .contains("mono.toml is not used")
    );
    assert_eq!(library.shadow_warning("prod"), None);
    let names = library.names();
    assert_eq!(names[..6], Theme::names()[..]);
    assert_eq!(names[6..], ["broken", "prod"]);
    assert!(matches!(
        library.load("dracula"),
        Err(ThemeError::Unknown { .. })
    ));
    let err = library.load("broken").unwrap_err().to_string();
    assert!(
        err.ends_with("broken.toml: line 1, column 1: missing field `kind`"),
        "{err}"
    );
    let by_path = dir.path().join("prod.toml");
    assert_eq!(
        library.load(by_path.to_str().unwrap()).unwrap().name,
        "prod"
    );
}

#[test]
fn the_theme_follows_flag_then_context_then_top_level() {
    let dir = tempfile::tempdir().unwrap();
    let library = ThemeLibrary::in_folder(dir.path().to_path_buf());
    write(dir.path(), "broken.toml", "name = 1");
    let settings = ThemeSettings {
        flag: None,
        contexts: [("prod", "high-contrast"), ("staging", "broken")].into(),
        top: Some("light"),
        no_color: false,
    };
    let (themes, warnings) = Themes::choose(&library, &settings, Glyphs::Ascii);
    let name = |ctx| themes.for_context(ctx).name.clone();
    assert_eq!(name("prod"), "high-contrast");
    assert_eq!(name("dev"), "light");
    assert_eq!(
        name("staging"),
        "light",
        "a broken context theme: the next one down"
    );
    assert_eq!(themes.for_context("prod").glyphs, Glyphs::Ascii);
    assert_eq!(warnings.len(), 1);
    assert!(warnings[0].contains("broken.toml") && warnings[0].ends_with("it is not used"));

    let flagged = ThemeSettings {
        flag: Some("ansi16"),
        ..settings.clone()
    };
    let (themes, _) = Themes::choose(&library, &flagged, Glyphs::Ascii);
    assert_eq!(themes.for_context("prod").name, "ansi16");

    let broken_flag = ThemeSettings {
        flag: Some("nope.toml"),
        ..settings.clone()
    };
    let (themes, warnings) = Themes::choose(&library, &broken_flag, Glyphs::Ascii);
    assert_eq!(themes.for_context("prod").name, "default");
    assert!(
        warnings[0].starts_with("theme file nope.toml: "),
        "{warnings:?}"
    );

    let no_color = ThemeSettings {
        no_color: true,
        ..flagged
    };
    let (themes, _) = Themes::choose(&library, &no_color, Glyphs::Ascii);
    assert_eq!(themes.for_context("prod").name, "mono");
    assert_eq!(themes.for_context("dev").name, "mono");

    let (themes, _) = Themes::choose(&library, &ThemeSettings::default(), Glyphs::Unicode);
    assert_eq!(themes.for_context("any").name, "default");
}
