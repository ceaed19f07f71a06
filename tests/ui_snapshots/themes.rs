//! The list in every built-in theme at 100×30, with its styles, so that a
//! change to a theme shows in review. Every theme draws the same text; the
//! snapshot gives each row, then its runs of one style as
//! `fg on bg +modifiers "text"` (`-` is the terminal's own colour, a number
//! an xterm 256-colour index).

use super::*;

const SIZE: (u16, u16) = (100, 30);

#[test]
fn the_list_in_every_theme() {
    let state = shop();
    let text = draw(&state, "mono", SIZE).to_string();
    for name in Theme::names() {
        let backend = draw(&state, name, SIZE);
        assert_eq!(backend.to_string(), text, "{name} draws mono's text");
        assert_view_snapshot(
            &format!("list_100x30_{name}_styles"),
            format!("the list at 100x30 in the {name} theme: each row, then its runs of one style"),
            styles(backend.buffer()),
        );
    }
}

/// Each row of `buffer`, then its runs of cells of one style.
fn styles(buffer: &Buffer) -> String {
    let area = buffer.area;
    let mut out = String::new();
    for y in area.top()..area.bottom() {
        let cells: Vec<_> = (area.left()..area.right())
            .map(|x| &buffer[(x, y)])
            .collect();
        let row: String = cells.iter().map(|c| c.symbol()).collect();
        out.push_str(&format!("{y:>2} {row}\n"));
        let mut runs: Vec<(String, String)> = Vec::new();
        for cell in cells {
            let style = style_of(cell.fg, cell.bg, cell.modifier);
            match runs.last_mut() {
                Some((last, text)) if *last == style => text.push_str(cell.symbol()),
                _ => runs.push((style, cell.symbol().to_string())),
            }
        }
        for (style, text) in runs {
            out.push_str(&format!("     {style} {text:?}\n"));
        }
    }
    out
}

fn style_of(fg: Color, bg: Color, modifier: Modifier) -> String {
    let mut style = format!("{} on {}", colour(fg), colour(bg));
    for (flag, name) in [
        (Modifier::BOLD, "bold"),
        (Modifier::DIM, "dim"),
        (Modifier::ITALIC, "italic"),
        (Modifier::UNDERLINED, "underlined"),
        (Modifier::REVERSED, "reversed"),
    ] {
        if modifier.contains(flag) {
            style.push_str(&format!(" +{name}"));
        }
    }
    style
}

fn colour(c: Color) -> String {
    match c {
        Color::Reset => "-".into(),
        Color::Indexed(i) => i.to_string(),
        Color::Rgb(r, g, b) => format!("#{r:02x}{g:02x}{b:02x}"),
        named => format!("{named:?}").to_lowercase(),
    }
}
