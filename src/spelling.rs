//! "Did you mean …?": the known name nearest to a mistyped one.

/// The candidate closest to `word` by edit distance, when it is close
/// enough to be a slip (at most a third of the word's length, and at least
/// one edit) rather than a different name.
pub fn nearest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|c| (distance(&word.to_lowercase(), &c.to_lowercase()), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Edits (insert, delete, substitute, swap two neighbours) from `a` to
/// `b`, counted in characters: the optimal string alignment distance.
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let width = b.len() + 1;
    let mut d: Vec<usize> = vec![0; (a.len() + 1) * width];
    for i in 0..=a.len() {
        for j in 0..=b.len() {
            d[i * width + j] = match (i, j) {
                (0, j) => j,
                (i, 0) => i,
                (i, j) => {
                    let cost = usize::from(a[i - 1] != b[j - 1]);
                    let mut best = (d[(i - 1) * width + j] + 1)
                        .min(d[i * width + j - 1] + 1)
                        .min(d[(i - 1) * width + j - 1] + cost);
                    if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                        best = best.min(d[(i - 2) * width + j - 2] + 1);
                    }
                    best
                }
            };
        }
    }
    d[a.len() * width + b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slips_find_the_name_and_strangers_do_not() {
        let metrics = ["request_rate", "error_ratio", "p95_latency", "p99_latency"];
        assert_eq!(nearest("error_rato", metrics), Some("error_ratio"));
        assert_eq!(nearest("p95_latncy", metrics), Some("p95_latency"));
        assert_eq!(nearest("istoi", ["generic", "istio"]), Some("istio"));
        assert_eq!(nearest("ERROR_RATIO", metrics), Some("error_ratio"));
        assert_eq!(nearest("conversion", metrics), None);
        assert_eq!(nearest("promte", ["promote", "pause"]), Some("promote"));
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("mnoo", "mono"), 1, "a swap is one edit");
        assert_eq!(distance("", "abc"), 3);
    }
}
