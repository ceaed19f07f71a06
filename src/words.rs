//! Settings written as one of a few words (`sslmode = "verify-full"`,
//! `confirm = "typed"`): each value beside its word, in one table.

/// The word of `value` in `table`.
pub fn word_of<T: PartialEq + Copy>(table: &[(T, &'static str)], value: T) -> &'static str {
    table
        .iter()
        .find(|(v, _)| *v == value)
        .map_or("", |(_, word)| word)
}

/// The value written as `text`, or why there is none: `SETTING "x" is not
/// one of a, b`.
pub fn parse_word<T: Copy>(
    table: &[(T, &'static str)],
    setting: &str,
    text: &str,
) -> Result<T, String> {
    table
        .iter()
        .find(|(_, word)| *word == text)
        .map(|(v, _)| *v)
        .ok_or_else(|| {
            let words: Vec<&str> = table.iter().map(|(_, word)| *word).collect();
            format!("{setting} {text:?} is not one of {}", words.join(", "))
        })
}
