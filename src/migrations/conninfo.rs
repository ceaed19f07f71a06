//! The TLS parameters of a connection string, taken out of it.
//!
//! tokio-postgres knows `sslmode` only as disable, prefer or require and
//! refuses `sslrootcert`, so both are read here, the way libpq reads them,
//! and the rest of the string goes to tokio-postgres unchanged. Both forms
//! libpq accepts are read: `postgres://…?sslmode=…` and `host=… sslmode=…`.

use std::ops::Range;

/// Parameter values as written (after URL decoding), not yet checked.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct TlsParams {
    pub sslmode: Option<String>,
    pub sslrootcert: Option<String>,
}

impl TlsParams {
    /// Keeps `value` when `key` is one of ours; says whether it was.
    fn take(&mut self, key: &str, value: String) -> bool {
        let slot = match key {
            "sslmode" => &mut self.sslmode,
            "sslrootcert" => &mut self.sslrootcert,
            _ => return false,
        };
        // As in libpq, the last one given wins.
        *slot = Some(value);
        true
    }
}

/// `conninfo` without its `sslmode` and `sslrootcert` parameters, and their
/// values. A string that does not parse is returned whole, for
/// tokio-postgres to say what is wrong with it.
pub(crate) fn take_tls_params(conninfo: &str) -> (String, TlsParams) {
    let mut params = TlsParams::default();
    let ours = match parameters(conninfo) {
        Some(found) => found
            .into_iter()
            .filter_map(|(span, key, value)| params.take(&key, value).then_some(span))
            .collect(),
        None => Vec::new(),
    };
    let mut rest = conninfo.to_string();
    for span in ours.into_iter().rev() {
        rest.replace_range(span, "");
    }
    (tidy_query(rest), params)
}

/// Each parameter's span (with its separator), key and value.
type Parameter = (Range<usize>, String, String);

fn parameters(conninfo: &str) -> Option<Vec<Parameter>> {
    if ["postgres://", "postgresql://"]
        .iter()
        .any(|p| conninfo.starts_with(p))
    {
        url_parameters(conninfo)
    } else {
        keyword_parameters(conninfo)
    }
}

/// `key=value` pairs after the `?`, percent-decoded as tokio-postgres does
/// (a `+` stays a `+`, so a file name keeps it).
fn url_parameters(url: &str) -> Option<Vec<Parameter>> {
    let query_start = url.find('?')? + 1;
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8()
            .ok()
            .map(|s| s.into_owned())
    };
    let mut found = Vec::new();
    let mut start = query_start;
    for pair in url[query_start..].split('&') {
        let end = start + pair.len();
        let (key, value) = pair.split_once('=')?;
        // The span takes the `&` after the pair, if any.
        let span = start..(end + 1).min(url.len());
        found.push((span, decode(key)?, decode(value)?));
        start = end + 1;
    }
    Some(found)
}

/// `key = value` pairs separated by white space; a value may be quoted
/// with `'` and escape characters with `\`, as libpq reads them.
fn keyword_parameters(text: &str) -> Option<Vec<Parameter>> {
    let mut found = Vec::new();
    let mut chars = text.char_indices().peekable();
    let skip_ws = |chars: &mut std::iter::Peekable<std::str::CharIndices>| {
        while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
    };
    loop {
        skip_ws(&mut chars);
        let Some(&(start, _)) = chars.peek() else {
            return Some(found);
        };
        let mut key = String::new();
        while let Some((_, c)) = chars.next_if(|(_, c)| !c.is_whitespace() && *c != '=') {
            key.push(c);
        }
        skip_ws(&mut chars);
        chars.next_if(|(_, c)| *c == '=')?;
        skip_ws(&mut chars);
        let quoted = chars.next_if(|(_, c)| *c == '\'').is_some();
        let mut value = String::new();
        loop {
            match chars.next() {
                Some((_, '\'')) if quoted => break,
                Some((_, c)) if c.is_whitespace() && !quoted => break,
                Some((_, '\\')) => value.push(chars.next()?.1),
                Some((_, c)) => value.push(c),
                None if quoted => return None,
                None => break,
            }
        }
        // The span takes the white space after the pair.
        skip_ws(&mut chars);
        let end = chars.peek().map_or(text.len(), |&(i, _)| i);
        found.push((start..end, key, value));
    }
}

/// A URL whose query lost its last parameter ends without `?` or `&`.
fn tidy_query(mut rest: String) -> String {
    if rest.contains("://") {
        while rest.ends_with(['?', '&']) {
            rest.pop();
        }
    }
    rest
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(sslmode: Option<&str>, sslrootcert: Option<&str>) -> TlsParams {
        TlsParams {
            sslmode: sslmode.map(str::to_string),
            sslrootcert: sslrootcert.map(str::to_string),
        }
    }

    #[test]
    fn url_query_parameters_are_taken_out_and_decoded() {
        let (rest, found) = take_tls_params(
            "postgres://app@db.example:5432/payments?sslmode=verify-full&sslrootcert=/etc/ca%20dir/a+b.pem",
        );
        assert_eq!(rest, "postgres://app@db.example:5432/payments");
        assert_eq!(
            found,
            params(Some("verify-full"), Some("/etc/ca dir/a+b.pem"))
        );

        let (rest, found) = take_tls_params(
            "postgresql://app@db/x?application_name=a&sslmode=require&connect_timeout=3",
        );
        assert_eq!(
            rest,
            "postgresql://app@db/x?application_name=a&connect_timeout=3"
        );
        assert_eq!(found, params(Some("require"), None));

        let (rest, found) =
            take_tls_params("postgres://app@db/x?connect_timeout=3&sslmode=disable");
        assert_eq!(rest, "postgres://app@db/x?connect_timeout=3");
        assert_eq!(found, params(Some("disable"), None));
    }

    #[test]
    fn a_url_without_tls_parameters_is_unchanged() {
        for url in [
            "postgres://app@db/x",
            "postgres://app@db/x?connect_timeout=3",
            "postgres://app@db/x?broken",
        ] {
            assert_eq!(take_tls_params(url), (url.to_string(), params(None, None)));
        }
    }

    #[test]
    fn keyword_value_strings_are_read_as_libpq_reads_them() {
        let (rest, found) = take_tls_params(
            "host=db.example sslmode = verify-ca user=app sslrootcert='/etc/my ca\\'s.pem' dbname=x",
        );
        assert_eq!(rest, "host=db.example user=app dbname=x");
        assert_eq!(found, params(Some("verify-ca"), Some("/etc/my ca's.pem")));

        let (rest, found) = take_tls_params("host=db sslmode=require sslmode=disable");
        assert_eq!(rest, "host=db ");
        assert_eq!(found, params(Some("disable"), None), "the last one wins");

        let broken = "host=db sslmode='unterminated";
        assert_eq!(
            take_tls_params(broken),
            (broken.to_string(), params(None, None))
        );
    }
}
