//! Column widths for a table that must fit its screen: what gives up room
//! first, and what keeps it longest. Columns that show only placeholders go
//! first (narrowed, then dropped), then the padding of the others, then
//! values are cut, the most important last. Spare room goes to the columns
//! that can use it.

/// One column as the fitting sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    /// The widest cell, the header included.
    pub natural: u16,
    /// The width when there is room: at least `natural` gives a column
    /// room to breathe; the widths of fixed columns stay put as values
    /// change.
    pub preferred: u16,
    /// Every cell is a placeholder (`—`, `-`, empty): dropped whole before
    /// any value is cut.
    pub placeholder: bool,
    /// Whether its values may be cut, and when.
    pub cut: Option<Cut>,
    /// Takes a share of the spare room.
    pub flexible: bool,
}

/// How a column's values are cut: lower ranks first, down to `floor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cut {
    pub rank: u8,
    pub floor: u16,
}

impl Column {
    /// A column of fixed width, never cut.
    pub fn fixed(preferred: u16, natural: u16, placeholder: bool) -> Column {
        Column {
            natural,
            preferred,
            placeholder,
            cut: None,
            flexible: false,
        }
    }

    /// A column as wide as its values, cut (at `rank`, down to `floor`)
    /// when the screen is short, widened when it has room.
    pub fn flexible(natural: u16, placeholder: bool, rank: u8, floor: u16) -> Column {
        Column {
            natural,
            preferred: natural,
            placeholder,
            cut: Some(Cut { rank, floor }),
            flexible: true,
        }
    }

    /// A column of fixed width whose values were not measured: enough
    /// where the preferred widths [`fits`], since [`fit`] then keeps every
    /// fixed column at its preferred width whatever its values.
    pub fn unmeasured(preferred: u16) -> Column {
        Column::fixed(preferred, preferred, false)
    }
}

/// The cells `widths` take with `gap` cells between them.
fn total(widths: impl Iterator<Item = u16>, gap: u16) -> u32 {
    let (sum, count) = widths.fold((0_u32, 0_u32), |(sum, count), w| {
        (sum + u32::from(w), count + 1)
    });
    sum + count.saturating_sub(1) * u32::from(gap)
}

/// Whether the columns at their preferred widths fit in `room` cells with
/// `gap` cells between columns.
pub fn fits(columns: &[Column], room: u16, gap: u16) -> bool {
    total(columns.iter().map(|c| c.preferred), gap) <= u32::from(room)
}

/// The width of each column in `room` cells with `gap` cells between
/// columns; `None` for a column dropped. When even the floors do not fit,
/// the widths may add up to more than `room` (the table clips the right).
pub fn fit(columns: &[Column], room: u16, gap: u16) -> Vec<Option<u16>> {
    let mut widths: Vec<Option<u16>> = columns.iter().map(|c| Some(c.preferred)).collect();
    let total = |widths: &[Option<u16>]| total(widths.iter().flatten().copied(), gap);
    let room32 = u32::from(room);
    let over = |widths: &[Option<u16>]| total(widths).saturating_sub(room32);
    // Placeholders say least: narrowed, then dropped, the rightmost first.
    let unpad = |widths: &mut [Option<u16>], placeholders: bool| {
        for (w, c) in widths.iter_mut().zip(columns) {
            if c.placeholder == placeholders {
                *w = w.map(|w| w.min(c.natural));
            }
        }
    };
    if over(&widths) > 0 {
        unpad(&mut widths, true);
    }
    for (i, c) in columns.iter().enumerate().rev() {
        if over(&widths) == 0 {
            break;
        }
        if c.placeholder {
            widths[i] = None;
        }
    }
    // Then padding, which says nothing either.
    if over(&widths) > 0 {
        unpad(&mut widths, false);
    }
    let mut ranks: Vec<u8> = columns
        .iter()
        .filter_map(|c| c.cut.map(|k| k.rank))
        .collect();
    ranks.sort_unstable();
    ranks.dedup();
    for rank in ranks {
        let excess = over(&widths);
        shrink_rank(columns, &mut widths, rank, excess);
    }
    let spare = room32.saturating_sub(total(&widths));
    widen(
        columns,
        &mut widths,
        u16::try_from(spare).unwrap_or(u16::MAX),
    );
    widths
}

/// Take up to `excess` cells from the columns cut at `rank`, one cell at a
/// time from the widest, so they end up alike.
fn shrink_rank(columns: &[Column], widths: &mut [Option<u16>], rank: u8, mut excess: u32) {
    while excess > 0 {
        let widest = columns
            .iter()
            .zip(widths.iter())
            .enumerate()
            .filter_map(|(i, (c, w))| {
                let cut = c.cut.filter(|k| k.rank == rank)?;
                let w = (*w)?;
                (w > cut.floor).then_some((w, i))
            })
            .max_by_key(|&(w, i)| (w, std::cmp::Reverse(i)));
        let Some((w, i)) = widest else { return };
        widths[i] = Some(w - 1);
        excess -= 1;
    }
}

/// Share `spare` cells among the flexible columns shown, the first ones
/// taking the remainder.
fn widen(columns: &[Column], widths: &mut [Option<u16>], spare: u16) {
    let flexible: Vec<usize> = (0..columns.len())
        .filter(|&i| columns[i].flexible && widths[i].is_some())
        .collect();
    let Ok(count) = u16::try_from(flexible.len()) else {
        return;
    };
    if count == 0 {
        return;
    }
    for (n, &i) in flexible.iter().enumerate() {
        let extra = spare / count + u16::from(u16::try_from(n).is_ok_and(|n| n < spare % count));
        widths[i] = widths[i].map(|w| w + extra);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAME: u8 = 1;
    const VALUE: u8 = 0;

    fn table() -> Vec<Column> {
        vec![
            Column::fixed(10, 8, false),
            Column::flexible(30, false, NAME, 8),
            Column::fixed(7, 7, true),
            Column::flexible(12, false, VALUE, 6),
        ]
    }

    #[test]
    fn with_room_the_flexible_columns_share_it() {
        assert_eq!(
            fit(&table(), 70, 1),
            [Some(10), Some(34), Some(7), Some(16)]
        );
    }

    #[test]
    fn where_the_preferred_widths_fit_fixed_columns_need_no_measure() {
        let mut padded = table();
        padded[2] = Column::fixed(9, 7, true);
        for columns in [table(), padded] {
            let unmeasured: Vec<Column> = columns
                .iter()
                .map(|c| match c.cut {
                    None => Column::unmeasured(c.preferred),
                    Some(_) => *c,
                })
                .collect();
            for room in 0..80 {
                if fits(&columns, room, 1) {
                    assert_eq!(fit(&columns, room, 1), fit(&unmeasured, room, 1), "{room}");
                }
            }
            assert!(!fits(&columns, 60, 1) && fits(&columns, 64, 1));
        }
    }

    #[test]
    fn placeholders_then_padding_then_values_then_the_name() {
        let mut padded = table();
        padded[2] = Column::fixed(9, 7, true);
        // 10+30+9+12 and 3 gaps = 64.
        assert_eq!(fit(&padded, 64, 1), [Some(10), Some(30), Some(9), Some(12)]);
        assert_eq!(
            fit(&padded, 62, 1),
            [Some(10), Some(30), Some(7), Some(12)],
            "placeholders narrowed first"
        );
        assert_eq!(
            fit(&padded, 60, 1),
            [Some(10), Some(33), None, Some(15)],
            "then dropped (the spare cells go to the flexible columns)"
        );
        assert_eq!(
            fit(&padded, 53, 1),
            [Some(8), Some(31), None, Some(12)],
            "then the padding"
        );
        assert_eq!(
            fit(&padded, 51, 1),
            [Some(8), Some(30), None, Some(11)],
            "then the values"
        );
        assert_eq!(
            fit(&table(), 46, 1),
            [Some(8), Some(30), None, Some(6)],
            "then the values, to their floor"
        );
        assert_eq!(
            fit(&table(), 40, 1),
            [Some(8), Some(24), None, Some(6)],
            "the name last"
        );
        assert_eq!(
            fit(&table(), 10, 1),
            [Some(8), Some(8), None, Some(6)],
            "floors are kept: the table clips"
        );
    }
}
