//! Label and field selectors for list and watch requests.
//!
//! Clients such as kubectl and controller reflectors send `labelSelector` and
//! `fieldSelector` query parameters and rely on the apiserver filtering (and
//! rejecting) them exactly like a real cluster does. The grammar, semantics
//! and error messages therefore follow k8s.io/apimachinery's `labels.Parse`,
//! `metav1.LabelSelectorAsSelector` and `fields.ParseSelector`.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::fmt;

use serde_json::{Map, Value};

/// A selector that could not be parsed or uses an unsupported field.
///
/// The message mirrors the apiserver's wording so clients see familiar errors.
#[derive(Debug, Clone, PartialEq)]
pub struct SelectorError(pub String);

impl fmt::Display for SelectorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SelectorError {}

/// Label names are limited like Kubernetes qualified names.
const QUALIFIED_NAME_MAX_LEN: usize = 63;
/// Label values share the qualified-name length limit.
const LABEL_VALUE_MAX_LEN: usize = 63;
/// Key prefixes are DNS subdomains.
const DNS_SUBDOMAIN_MAX_LEN: usize = 253;

const QUALIFIED_NAME_ERR: &str = "must consist of alphanumeric characters, '-', '_' or '.', \
     and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or \
     '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const LABEL_VALUE_ERR: &str = "a valid label must be an empty string or consist of alphanumeric \
     characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. \
     'MyValue',  or 'my_value',  or '12345', regex used for validation is \
     '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
const DNS_SUBDOMAIN_ERR: &str = "a lowercase RFC 1123 subdomain must consist of lower case \
     alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character \
     (e.g. 'example.com', regex used for validation is \
     '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

/// Operators of a single label requirement; `==` is folded into `Equals`
/// because it has identical semantics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LabelOp {
    Equals,
    NotEquals,
    In,
    NotIn,
    Exists,
    DoesNotExist,
    GreaterThan,
    LessThan,
}

/// One comma-separated term of a label selector.
#[derive(Debug, Clone, PartialEq)]
struct LabelRequirement {
    key: String,
    op: LabelOp,
    /// A sorted set, so selectors that differ only in value order compare equal.
    values: BTreeSet<String>,
}

impl LabelRequirement {
    /// Validates like apimachinery's `NewRequirement`, so invalid keys, values
    /// and operator/value combinations are rejected instead of silently
    /// matching nothing.
    fn new(key: String, op: LabelOp, values: BTreeSet<String>) -> Result<Self, String> {
        let mut errs = Vec::new();
        if let Err(e) = validate_label_key(&key) {
            errs.push(e);
        }
        let count = values.len();
        match op {
            LabelOp::In | LabelOp::NotIn if count == 0 => errs.push(format!(
                "values: Invalid value: {:?}: for 'in', 'notin' operators, values set can't be empty",
                values
            )),
            LabelOp::Equals | LabelOp::NotEquals if count != 1 => errs.push(format!(
                "values: Invalid value: {:?}: exact-match compatibility requires one single value",
                values
            )),
            LabelOp::Exists | LabelOp::DoesNotExist if count != 0 => errs.push(format!(
                "values: Invalid value: {:?}: values set must be empty for exists and does not exist",
                values
            )),
            LabelOp::GreaterThan | LabelOp::LessThan => {
                if count != 1 {
                    errs.push(format!(
                        "values: Invalid value: {:?}: for 'Gt', 'Lt' operators, exactly one value is required",
                        values
                    ));
                }
                for (i, v) in values.iter().enumerate() {
                    if v.parse::<i64>().is_err() {
                        errs.push(format!(
                            "values[{i}]: Invalid value: {v:?}: for 'Gt', 'Lt' operators, the value must be an integer"
                        ));
                    }
                }
            }
            _ => {}
        }
        for (i, v) in values.iter().enumerate() {
            if let Err(e) = validate_label_value(v) {
                errs.push(format!("values[{i}]: Invalid value: {v:?}: {e}"));
            }
        }
        match errs.len() {
            0 => Ok(LabelRequirement { key, op, values }),
            1 => Err(errs.remove(0)),
            _ => Err(format!("[{}]", errs.join(", "))),
        }
    }

    fn matches(&self, labels: &Map<String, Value>) -> bool {
        let actual = labels.get(&self.key).and_then(label_text);
        let in_set = || actual.as_deref().is_some_and(|v| self.values.contains(v));
        match self.op {
            LabelOp::Equals | LabelOp::In => in_set(),
            // Negative operators also select objects that lack the label.
            LabelOp::NotEquals | LabelOp::NotIn => !in_set(),
            LabelOp::Exists => actual.is_some(),
            LabelOp::DoesNotExist => actual.is_none(),
            LabelOp::GreaterThan | LabelOp::LessThan => {
                let Some(have) = actual.and_then(|v| v.parse::<i64>().ok()) else {
                    return false;
                };
                let Some(want) = self.values.first().and_then(|v| v.parse::<i64>().ok()) else {
                    return false;
                };
                if self.op == LabelOp::GreaterThan {
                    have > want
                } else {
                    have < want
                }
            }
        }
    }
}

/// Reads a label value as text. Labels are strings in valid objects; scalar
/// non-strings are compared by their JSON text and `null` counts as absent so a
/// sloppy fixture does not make the selector panic or lie about existence.
fn label_text(v: &Value) -> Option<Cow<'_, str>> {
    match v {
        Value::String(s) => Some(Cow::Borrowed(s.as_str())),
        Value::Number(n) => Some(Cow::Owned(n.to_string())),
        Value::Bool(b) => Some(Cow::Owned(b.to_string())),
        Value::Null | Value::Array(_) | Value::Object(_) => None,
    }
}

/// `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`, the qualified-name pattern.
fn is_qualified_name_part(s: &str) -> bool {
    let bytes = s.as_bytes();
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) => {
            first.is_ascii_alphanumeric()
                && last.is_ascii_alphanumeric()
                && bytes
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        }
        _ => false,
    }
}

/// RFC 1123 subdomain: dot-separated lowercase alphanumeric labels with inner dashes.
fn is_dns1123_subdomain(s: &str) -> bool {
    s.split('.').all(|label| {
        let bytes = label.as_bytes();
        match (bytes.first(), bytes.last()) {
            (Some(first), Some(last)) => {
                is_lower_alnum(*first)
                    && is_lower_alnum(*last)
                    && bytes.iter().all(|b| is_lower_alnum(*b) || *b == b'-')
            }
            _ => false,
        }
    })
}

fn is_lower_alnum(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

/// Label keys are qualified names: an optional DNS-subdomain prefix and `/`,
/// then a name part of at most 63 characters.
fn validate_label_key(key: &str) -> Result<(), String> {
    let invalid = |detail: String| format!("key: Invalid value: {key:?}: {detail}");
    let parts: Vec<&str> = key.split('/').collect();
    let mut errs = Vec::new();
    let name = match parts.as_slice() {
        [name] => *name,
        [prefix, name] => {
            if prefix.is_empty() {
                errs.push("prefix part must be non-empty".to_string());
            } else {
                if prefix.len() > DNS_SUBDOMAIN_MAX_LEN {
                    errs.push(format!(
                        "prefix part must be no more than {DNS_SUBDOMAIN_MAX_LEN} characters"
                    ));
                }
                if !is_dns1123_subdomain(prefix) {
                    errs.push(format!("prefix part {DNS_SUBDOMAIN_ERR}"));
                }
            }
            *name
        }
        _ => {
            return Err(invalid(format!(
                "a qualified name {QUALIFIED_NAME_ERR} with an optional DNS subdomain prefix \
                 and '/' (e.g. 'example.com/MyName')"
            )));
        }
    };
    if name.is_empty() {
        errs.push("name part must be non-empty".to_string());
    } else if name.len() > QUALIFIED_NAME_MAX_LEN {
        errs.push(format!(
            "name part must be no more than {QUALIFIED_NAME_MAX_LEN} characters"
        ));
    }
    if !is_qualified_name_part(name) {
        errs.push(format!("name part {QUALIFIED_NAME_ERR}"));
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(invalid(errs.join("; ")))
    }
}

/// Label values may be empty; otherwise they follow the qualified-name pattern.
fn validate_label_value(value: &str) -> Result<(), String> {
    let mut errs = Vec::new();
    if value.len() > LABEL_VALUE_MAX_LEN {
        errs.push(format!(
            "must be no more than {LABEL_VALUE_MAX_LEN} characters"
        ));
    }
    if !value.is_empty() && !is_qualified_name_part(value) {
        errs.push(LABEL_VALUE_ERR.to_string());
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(errs.join("; "))
    }
}

/// Tokens of the label selector language. `in`/`notin` are lexed as
/// identifiers and only treated as keywords in operator position, as in
/// apimachinery, so `in` remains usable as a key or value.
#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Bang,
    Eq,
    DoubleEq,
    NotEq,
    Gt,
    Lt,
    Open,
    Close,
    Comma,
    End,
}

impl Token {
    /// The source text, used in "found '...'" error messages.
    fn literal(&self) -> &str {
        match self {
            Token::Ident(s) => s,
            Token::Bang => "!",
            Token::Eq => "=",
            Token::DoubleEq => "==",
            Token::NotEq => "!=",
            Token::Gt => ">",
            Token::Lt => "<",
            Token::Open => "(",
            Token::Close => ")",
            Token::Comma => ",",
            Token::End => "",
        }
    }
}

fn is_whitespace(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

fn special_symbol(c: char) -> Option<Token> {
    Some(match c {
        '!' => Token::Bang,
        '=' => Token::Eq,
        '>' => Token::Gt,
        '<' => Token::Lt,
        '(' => Token::Open,
        ')' => Token::Close,
        ',' => Token::Comma,
        _ => return None,
    })
}

/// Splits a label selector into tokens; identifiers are maximal runs of
/// characters that are neither whitespace nor special symbols, and the
/// content is validated later so errors name the offending key or value.
fn lex(s: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut chars = s.char_indices().peekable();
    while let Some(&(start, c)) = chars.peek() {
        if is_whitespace(c) {
            chars.next();
        } else if let Some(tok) = special_symbol(c) {
            chars.next();
            let followed_by_eq = chars.peek().is_some_and(|&(_, n)| n == '=');
            let tok = match tok {
                Token::Bang if followed_by_eq => Token::NotEq,
                Token::Eq if followed_by_eq => Token::DoubleEq,
                other => other,
            };
            if matches!(tok, Token::NotEq | Token::DoubleEq) {
                chars.next();
            }
            tokens.push(tok);
        } else {
            let mut end = s.len();
            while let Some(&(i, n)) = chars.peek() {
                if is_whitespace(n) || special_symbol(n).is_some() {
                    end = i;
                    break;
                }
                chars.next();
            }
            tokens.push(Token::Ident(s[start..end].to_string()));
        }
    }
    tokens.push(Token::End);
    tokens
}

/// Recursive-descent parser mirroring apimachinery's `labels.Parser`.
struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> &Token {
        &self.tokens[self.pos]
    }

    /// Returns the next token; `End` is sticky so error paths cannot overrun.
    fn next(&mut self) -> Token {
        let tok = self.tokens[self.pos].clone();
        if self.pos + 1 < self.tokens.len() {
            self.pos += 1;
        }
        tok
    }

    fn parse(&mut self) -> Result<Vec<LabelRequirement>, SelectorError> {
        let mut requirements = Vec::new();
        loop {
            match self.peek() {
                Token::Ident(_) | Token::Bang => {
                    let r = self
                        .requirement()
                        .map_err(|e| SelectorError(format!("unable to parse requirement: {e}")))?;
                    requirements.push(r);
                    match self.next() {
                        Token::End => return Ok(requirements),
                        Token::Comma => {
                            let t = self.peek();
                            if !matches!(t, Token::Ident(_) | Token::Bang) {
                                return Err(SelectorError(format!(
                                    "found '{}', expected: identifier after ','",
                                    t.literal()
                                )));
                            }
                        }
                        t => {
                            return Err(SelectorError(format!(
                                "found '{}', expected: ',' or 'end of string'",
                                t.literal()
                            )));
                        }
                    }
                }
                Token::End => return Ok(requirements),
                t => {
                    return Err(SelectorError(format!(
                        "found '{}', expected: !, identifier, or 'end of string'",
                        t.literal()
                    )));
                }
            }
        }
    }

    fn requirement(&mut self) -> Result<LabelRequirement, String> {
        let mut tok = self.next();
        let mut op = None;
        if tok == Token::Bang {
            op = Some(LabelOp::DoesNotExist);
            tok = self.next();
        }
        let key = match tok {
            Token::Ident(k) => k,
            t => return Err(format!("found '{}', expected: identifier", t.literal())),
        };
        validate_label_key(&key)?;
        if op.is_none() && matches!(self.peek(), Token::End | Token::Comma) {
            op = Some(LabelOp::Exists);
        }
        if let Some(op) = op {
            return LabelRequirement::new(key, op, BTreeSet::new());
        }
        let op = self.operator()?;
        let values = match op {
            LabelOp::In | LabelOp::NotIn => self.value_set()?,
            _ => self.exact_value()?,
        };
        LabelRequirement::new(key, op, values)
    }

    fn operator(&mut self) -> Result<LabelOp, String> {
        Ok(match self.next() {
            Token::Ident(s) if s == "in" => LabelOp::In,
            Token::Ident(s) if s == "notin" => LabelOp::NotIn,
            Token::Eq | Token::DoubleEq => LabelOp::Equals,
            Token::NotEq => LabelOp::NotEquals,
            Token::Gt => LabelOp::GreaterThan,
            Token::Lt => LabelOp::LessThan,
            t => {
                return Err(format!(
                    "found '{}', expected: in, notin, =, ==, !=, gt, lt",
                    t.literal()
                ));
            }
        })
    }

    /// `( v1, v2, ... )`; like apimachinery, `()` and stray commas stand for
    /// the empty value.
    fn value_set(&mut self) -> Result<BTreeSet<String>, String> {
        match self.next() {
            Token::Open => {}
            t => return Err(format!("found '{}' expected: '('", t.literal())),
        }
        match self.peek() {
            Token::Ident(_) | Token::Comma => {
                let set = self.identifier_list()?;
                match self.next() {
                    Token::Close => Ok(set),
                    t => Err(format!("found '{}', expected: ')'", t.literal())),
                }
            }
            Token::Close => {
                self.next();
                Ok(BTreeSet::from([String::new()]))
            }
            t => Err(format!(
                "found '{}', expected: ',', ')' or identifier",
                t.literal()
            )),
        }
    }

    fn identifier_list(&mut self) -> Result<BTreeSet<String>, String> {
        let mut set = BTreeSet::new();
        loop {
            match self.next() {
                Token::Ident(v) => {
                    set.insert(v);
                    match self.peek() {
                        Token::Comma => {}
                        Token::Close => return Ok(set),
                        t => return Err(format!("found '{}', expected: ',' or ')'", t.literal())),
                    }
                }
                Token::Comma => {
                    if set.is_empty() {
                        set.insert(String::new());
                    }
                    match self.peek() {
                        Token::Close => {
                            set.insert(String::new());
                            return Ok(set);
                        }
                        Token::Comma => {
                            self.next();
                            set.insert(String::new());
                        }
                        _ => {}
                    }
                }
                t => {
                    return Err(format!(
                        "found '{}', expected: ',', or identifier",
                        t.literal()
                    ));
                }
            }
        }
    }

    /// The right-hand side of `=`, `==`, `!=`, `>` or `<`; a missing value
    /// means the empty string.
    fn exact_value(&mut self) -> Result<BTreeSet<String>, String> {
        if matches!(self.peek(), Token::End | Token::Comma) {
            return Ok(BTreeSet::from([String::new()]));
        }
        match self.next() {
            Token::Ident(v) => Ok(BTreeSet::from([v])),
            t => Err(format!("found '{}', expected: identifier", t.literal())),
        }
    }
}

/// A parsed label selector: the conjunction of its requirements.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelSelector {
    /// Sorted by key, as apimachinery does, so equality ignores term order.
    requirements: Vec<LabelRequirement>,
    /// A `null` selector in object form selects nothing rather than everything.
    nothing: bool,
}

impl LabelSelector {
    /// Parses the `labelSelector` query value; the empty string selects everything.
    pub fn parse(s: &str) -> Result<LabelSelector, SelectorError> {
        let mut parser = Parser {
            tokens: lex(s),
            pos: 0,
        };
        let requirements = parser.parse()?;
        Ok(Self::from_requirements(requirements))
    }

    /// A selector that matches every object.
    pub fn everything() -> LabelSelector {
        LabelSelector {
            requirements: Vec::new(),
            nothing: false,
        }
    }

    fn from_requirements(mut requirements: Vec<LabelRequirement>) -> LabelSelector {
        requirements.sort_by(|a, b| a.key.cmp(&b.key));
        LabelSelector {
            requirements,
            nothing: false,
        }
    }

    /// Whether a label map satisfies every requirement.
    pub fn matches_labels(&self, labels: &Map<String, Value>) -> bool {
        !self.nothing && self.requirements.iter().all(|r| r.matches(labels))
    }

    /// Matches against `obj.metadata.labels`; objects without labels are
    /// treated as having an empty label set.
    pub fn matches(&self, obj: &Value) -> bool {
        match obj.pointer("/metadata/labels").and_then(Value::as_object) {
            Some(labels) => self.matches_labels(labels),
            None => self.matches_labels(&Map::new()),
        }
    }

    /// The structured form used in Kubernetes objects (`{matchLabels,
    /// matchExpressions:[{key, operator: In|NotIn|Exists|DoesNotExist, values}]}`),
    /// e.g. a Deployment's spec.selector.
    ///
    /// Follows `metav1.LabelSelectorAsSelector`: `null` selects nothing, an
    /// empty object selects everything.
    pub fn from_label_selector_object(v: &Value) -> Result<LabelSelector, SelectorError> {
        let obj = match v {
            Value::Null => {
                return Ok(LabelSelector {
                    requirements: Vec::new(),
                    nothing: true,
                });
            }
            Value::Object(obj) => obj,
            other => {
                return Err(SelectorError(format!(
                    "invalid label selector: expected an object, got {other}"
                )));
            }
        };
        let mut requirements = Vec::new();
        match obj.get("matchLabels") {
            None | Some(Value::Null) => {}
            Some(Value::Object(labels)) => {
                for (key, value) in labels {
                    let Value::String(value) = value else {
                        return Err(SelectorError(format!(
                            "invalid label selector: matchLabels.{key}: expected a string, got {value}"
                        )));
                    };
                    let r = LabelRequirement::new(
                        key.clone(),
                        LabelOp::Equals,
                        BTreeSet::from([value.clone()]),
                    )
                    .map_err(SelectorError)?;
                    requirements.push(r);
                }
            }
            Some(other) => {
                return Err(SelectorError(format!(
                    "invalid label selector: matchLabels must be an object, got {other}"
                )));
            }
        }
        match obj.get("matchExpressions") {
            None | Some(Value::Null) => {}
            Some(Value::Array(exprs)) => {
                for (i, expr) in exprs.iter().enumerate() {
                    requirements.push(expression_requirement(i, expr)?);
                }
            }
            Some(other) => {
                return Err(SelectorError(format!(
                    "invalid label selector: matchExpressions must be an array, got {other}"
                )));
            }
        }
        Ok(Self::from_requirements(requirements))
    }
}

/// Converts one `matchExpressions` entry into a requirement.
fn expression_requirement(index: usize, expr: &Value) -> Result<LabelRequirement, SelectorError> {
    let shape_err = |what: &str| {
        SelectorError(format!(
            "invalid label selector: matchExpressions[{index}]: {what}"
        ))
    };
    let key = expr
        .get("key")
        .and_then(Value::as_str)
        .ok_or_else(|| shape_err("key must be a string"))?;
    let op = match expr.get("operator").and_then(Value::as_str).unwrap_or("") {
        "In" => LabelOp::In,
        "NotIn" => LabelOp::NotIn,
        "Exists" => LabelOp::Exists,
        "DoesNotExist" => LabelOp::DoesNotExist,
        other => {
            return Err(SelectorError(format!(
                "{other:?} is not a valid label selector operator"
            )));
        }
    };
    let values = match expr.get("values") {
        None | Some(Value::Null) => BTreeSet::new(),
        Some(Value::Array(values)) => values
            .iter()
            .map(|v| v.as_str().map(str::to_string))
            .collect::<Option<BTreeSet<String>>>()
            .ok_or_else(|| shape_err("values must be strings"))?,
        Some(_) => return Err(shape_err("values must be an array")),
    };
    LabelRequirement::new(key.to_string(), op, values).map_err(SelectorError)
}

/// The JSON pointer a field label reads: `metadata.name` → `/metadata/name`.
fn pointer_of(label: &str, aliases: &[(&str, &str)]) -> String {
    match aliases.iter().find(|(l, _)| *l == label) {
        Some((_, pointer)) => (*pointer).to_string(),
        None => format!("/{}", label.replace('.', "/")),
    }
}

/// One `field=value` / `field!=value` term.
#[derive(Debug, Clone, PartialEq)]
struct FieldRequirement {
    /// JSON pointer into the object.
    field: String,
    negated: bool,
    value: String,
}

/// A parsed field selector: the conjunction of its terms.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldSelector {
    /// In the order of the sorted raw terms, as apimachinery does.
    requirements: Vec<FieldRequirement>,
}

impl FieldSelector {
    /// Parses the `fieldSelector` query value; the empty string selects everything.
    ///
    /// All terms are parsed before field names are checked, so syntax errors
    /// win over "field label not supported" as they do on a real apiserver.
    pub fn parse(s: &str) -> Result<FieldSelector, SelectorError> {
        Self::parse_for(s, &[], &[])
    }

    /// Like [`FieldSelector::parse`], for a kind that also supports `extra`
    /// field labels (e.g. `involvedObject.name` on Events); `aliases` maps a
    /// label to a JSON pointer where it is not the dotted path.
    pub fn parse_for(
        s: &str,
        extra: &[&str],
        aliases: &[(&str, &str)],
    ) -> Result<FieldSelector, SelectorError> {
        let mut terms = split_terms(s);
        terms.sort_unstable();
        let mut parsed = Vec::new();
        for term in terms {
            if term.is_empty() {
                continue;
            }
            let Some((field, negated, raw_value)) = split_term(term) else {
                return Err(SelectorError(format!(
                    "invalid selector: '{s}'; can't understand '{term}'"
                )));
            };
            parsed.push((field, negated, unescape_value(raw_value)?));
        }
        let requirements = parsed
            .into_iter()
            .map(|(field, negated, value)| {
                if !matches!(field, "metadata.name" | "metadata.namespace")
                    && !extra.contains(&field)
                {
                    return Err(SelectorError(format!("field label not supported: {field}")));
                }
                let field = pointer_of(field, aliases);
                Ok(FieldRequirement {
                    field,
                    negated,
                    value,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(FieldSelector { requirements })
    }

    /// A selector that matches every object.
    pub fn everything() -> FieldSelector {
        FieldSelector {
            requirements: Vec::new(),
        }
    }

    /// Whether the object satisfies every term; numbers and booleans compare
    /// as their text; a missing field (e.g. the
    /// namespace of a cluster-scoped object) reads as the empty string.
    pub fn matches(&self, obj: &Value) -> bool {
        self.requirements.iter().all(|r| {
            let actual = match obj.pointer(&r.field) {
                Some(Value::String(text)) => Cow::Borrowed(text.as_str()),
                Some(Value::Number(n)) => Cow::Owned(n.to_string()),
                Some(Value::Bool(b)) => Cow::Owned(b.to_string()),
                _ => Cow::Borrowed(""),
            };
            (actual == r.value.as_str()) != r.negated
        })
    }
}

/// Splits on commas that are not escaped with a backslash.
fn split_terms(s: &str) -> Vec<&str> {
    if s.is_empty() {
        return Vec::new();
    }
    let mut terms = Vec::new();
    let mut start = 0;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == ',' {
            terms.push(&s[start..i]);
            start = i + 1;
        }
    }
    terms.push(&s[start..]);
    terms
}

/// Splits a term at the first operator, returning `(field, negated, raw value)`.
fn split_term(term: &str) -> Option<(&str, bool, &str)> {
    const OPERATORS: [(&str, bool); 3] = [("!=", true), ("==", false), ("=", false)];
    term.char_indices().find_map(|(i, _)| {
        let rest = &term[i..];
        OPERATORS.iter().find_map(|&(op, negated)| {
            rest.strip_prefix(op)
                .map(|value| (&term[..i], negated, value))
        })
    })
}

/// Resolves `\\`, `\,` and `\=`; any other escape, or an unescaped `,`/`=`,
/// is rejected like apimachinery's `fields.UnescapeValue`.
fn unescape_value(s: &str) -> Result<String, SelectorError> {
    let mut out = String::with_capacity(s.len());
    let mut escaped = false;
    for c in s.chars() {
        if escaped {
            match c {
                '\\' | ',' | '=' => out.push(c),
                other => {
                    return Err(SelectorError(format!(
                        "invalid field selector: invalid escape sequence: \\{other}"
                    )));
                }
            }
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            ',' | '=' => {
                return Err(SelectorError(format!(
                    "invalid field selector: unescaped character in value: {c:?}"
                )));
            }
            other => out.push(other),
        }
    }
    if escaped {
        return Err(SelectorError(
            "invalid field selector: invalid escape sequence: \\".to_string(),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn labels(v: Value) -> Map<String, Value> {
        v.as_object().cloned().expect("labels object")
    }

    fn sel(s: &str) -> LabelSelector {
        LabelSelector::parse(s).unwrap_or_else(|e| panic!("parse {s:?}: {e}"))
    }

    fn fmatch(selector: &str, obj: &Value) -> bool {
        FieldSelector::parse(selector)
            .unwrap_or_else(|e| panic!("parse {selector:?}: {e}"))
            .matches(obj)
    }

    fn obj(name: &str, namespace: Option<&str>, labels: Value) -> Value {
        let mut meta = json!({ "name": name, "labels": labels });
        if let Some(ns) = namespace {
            meta["namespace"] = json!(ns);
        }
        json!({ "apiVersion": "v1", "kind": "Pod", "metadata": meta })
    }

    #[test]
    fn empty_selector_matches_everything() {
        let s = sel("");
        assert_eq!(s, LabelSelector::everything());
        assert!(s.matches(&json!({})));
        assert!(s.matches_labels(&labels(json!({"a": "b"}))));
        assert_eq!(sel("   "), LabelSelector::everything());
    }

    #[test]
    fn equality_operators() {
        let l = labels(json!({"app": "web", "tier": "front"}));
        assert!(sel("app=web").matches_labels(&l));
        assert!(sel("app==web").matches_labels(&l));
        assert!(!sel("app=db").matches_labels(&l));
        assert!(!sel("missing=web").matches_labels(&l));
        assert_eq!(sel("app=web"), sel("app==web"));
    }

    #[test]
    fn not_equals_matches_missing_label() {
        let l = labels(json!({"app": "web"}));
        assert!(!sel("app!=web").matches_labels(&l));
        assert!(sel("app!=db").matches_labels(&l));
        assert!(sel("other!=x").matches_labels(&l));
    }

    #[test]
    fn set_operators() {
        let l = labels(json!({"env": "prod"}));
        assert!(sel("env in (prod, staging)").matches_labels(&l));
        assert!(!sel("env in (dev,staging)").matches_labels(&l));
        assert!(!sel("other in (prod)").matches_labels(&l));
        assert!(!sel("env notin (prod,staging)").matches_labels(&l));
        assert!(sel("env notin (dev)").matches_labels(&l));
        assert!(sel("other notin (prod)").matches_labels(&l));
        assert_eq!(sel("env in (b,a)"), sel("env in (a, b, a)"));
    }

    #[test]
    fn existence_operators() {
        let l = labels(json!({"app": "web"}));
        assert!(sel("app").matches_labels(&l));
        assert!(!sel("other").matches_labels(&l));
        assert!(sel("!other").matches_labels(&l));
        assert!(!sel("!app").matches_labels(&l));
        assert!(sel(" ! other ").matches_labels(&l));
    }

    #[test]
    fn numeric_comparisons() {
        let l = labels(json!({"replicas": "5"}));
        assert!(sel("replicas>3").matches_labels(&l));
        assert!(!sel("replicas>5").matches_labels(&l));
        assert!(sel("replicas<10").matches_labels(&l));
        assert!(!sel("missing<10").matches_labels(&l));
        assert!(!sel("replicas<10").matches_labels(&labels(json!({"replicas": "x"}))));
        assert!(LabelSelector::parse("replicas>abc").is_err());
    }

    #[test]
    fn empty_values() {
        let empty = labels(json!({"k": ""}));
        let full = labels(json!({"k": "v"}));
        assert!(sel("k=").matches_labels(&empty));
        assert!(!sel("k=").matches_labels(&full));
        assert!(!sel("k=").matches_labels(&Map::new()));
        assert!(sel("k=,other").matches_labels(&labels(json!({"k": "", "other": "x"}))));
        assert!(sel("k!=").matches_labels(&full));
        assert!(sel("k in ()").matches_labels(&empty));
        assert!(sel("k in (v,)").matches_labels(&empty));
        assert!(sel("k in (,v)").matches_labels(&full));
    }

    #[test]
    fn combinations_are_anded_and_sorted() {
        let s = sel(" app = web , tier in (front,back), !legacy, env ");
        let ok = labels(json!({"app": "web", "tier": "back", "env": "x"}));
        assert!(s.matches_labels(&ok));
        let mut legacy = ok.clone();
        legacy.insert("legacy".into(), json!("true"));
        assert!(!s.matches_labels(&legacy));
        let mut no_env = ok.clone();
        no_env.remove("env");
        assert!(!s.matches_labels(&no_env));
        assert_eq!(sel("a=1,b=2"), sel("b=2,a=1"));
        assert_ne!(sel("a=1"), sel("a!=1"));
    }

    #[test]
    fn prefixed_keys_and_keyword_values() {
        let l = labels(json!({"app.kubernetes.io/name": "in", "in": "notin"}));
        assert!(sel("app.kubernetes.io/name=in").matches_labels(&l));
        assert!(sel("app.kubernetes.io/name in (in, notin)").matches_labels(&l));
        assert!(sel("in=notin").matches_labels(&l));
    }

    #[test]
    fn matches_reads_metadata_labels() {
        let s = sel("app=web");
        assert!(s.matches(&obj("p", Some("ns"), json!({"app": "web"}))));
        assert!(!s.matches(&obj("p", Some("ns"), json!({"app": "db"}))));
        let unlabeled = json!({"metadata": {"name": "p"}});
        assert!(!s.matches(&unlabeled));
        assert!(sel("app!=web").matches(&unlabeled));
        assert!(sel("!app").matches(&json!({})));
        assert!(sel("app notin (web)").matches(&json!({"metadata": {"labels": null}})));
    }

    #[test]
    fn parse_errors() {
        for bad in [
            "a=b=c",
            "in (",
            "a in (",
            "a in (b",
            "a in b",
            "a in (b c)",
            "a in (b))",
            "a notin",
            "a=(b)",
            ",a",
            "a,",
            "a,,b",
            "=a",
            "!",
            "!a=b",
            "a b",
            "a)",
            "a=b c",
            "a!b",
            "a/b/c=x",
            "/a=b",
            "a/=b",
            "Bad_Prefix/a=b",
            "-a=b",
            "a=b@c",
            "a=-b",
            "a@b",
        ] {
            assert!(LabelSelector::parse(bad).is_err(), "{bad:?} should fail");
        }
        let long = "x".repeat(64);
        assert!(LabelSelector::parse(&format!("{long}=a")).is_err());
        assert!(LabelSelector::parse(&format!("a={long}")).is_err());
        assert!(LabelSelector::parse(&format!("{}=a", "x".repeat(63))).is_ok());
    }

    #[test]
    fn parse_error_messages() {
        let e = LabelSelector::parse("a=b=c").unwrap_err();
        assert_eq!(e.0, "found '=', expected: ',' or 'end of string'");
        let e = LabelSelector::parse("a in (").unwrap_err();
        assert!(e.0.starts_with("unable to parse requirement: "), "{e}");
        let e = LabelSelector::parse("a@b").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("unable to parse requirement: key: Invalid value: \"a@b\""),
            "{e}"
        );
        let e = LabelSelector::parse("a,").unwrap_err();
        assert_eq!(e.0, "found '', expected: identifier after ','");
    }

    #[test]
    fn object_form_match_labels_and_expressions() {
        let s = LabelSelector::from_label_selector_object(&json!({
            "matchLabels": {"app": "web"},
            "matchExpressions": [
                {"key": "tier", "operator": "In", "values": ["front", "back"]},
                {"key": "env", "operator": "NotIn", "values": ["dev"]},
                {"key": "team", "operator": "Exists"},
                {"key": "legacy", "operator": "DoesNotExist", "values": []}
            ]
        }))
        .unwrap();
        assert_eq!(
            s,
            sel("app=web,tier in (front,back),env notin (dev),team,!legacy")
        );
        let good = obj(
            "p",
            None,
            json!({"app": "web", "tier": "front", "team": "a"}),
        );
        assert!(s.matches(&good));
        let dev = obj(
            "p",
            None,
            json!({"app": "web", "tier": "front", "team": "a", "env": "dev"}),
        );
        assert!(!s.matches(&dev));
        let legacy = obj(
            "p",
            None,
            json!({"app": "web", "tier": "front", "team": "a", "legacy": "1"}),
        );
        assert!(!s.matches(&legacy));
        let no_team = obj("p", None, json!({"app": "web", "tier": "front"}));
        assert!(!s.matches(&no_team));
    }

    #[test]
    fn object_form_empty_and_null() {
        let empty = LabelSelector::from_label_selector_object(&json!({})).unwrap();
        assert_eq!(empty, LabelSelector::everything());
        assert!(empty.matches(&json!({})));
        let nothing = LabelSelector::from_label_selector_object(&Value::Null).unwrap();
        assert!(!nothing.matches(&obj("p", None, json!({"app": "web"}))));
        assert!(!nothing.matches_labels(&Map::new()));
    }

    #[test]
    fn object_form_errors() {
        for bad in [
            json!("app=web"),
            json!({"matchLabels": {"app": 1}}),
            json!({"matchLabels": ["app"]}),
            json!({"matchLabels": {"bad key": "x"}}),
            json!({"matchExpressions": {}}),
            json!({"matchExpressions": [{"operator": "Exists"}]}),
            json!({"matchExpressions": [{"key": "a", "operator": "In"}]}),
            json!({"matchExpressions": [{"key": "a", "operator": "In", "values": []}]}),
            json!({"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]}),
            json!({"matchExpressions": [{"key": "a", "operator": "In", "values": [1]}]}),
        ] {
            assert!(
                LabelSelector::from_label_selector_object(&bad).is_err(),
                "{bad} should fail"
            );
        }
        let e = LabelSelector::from_label_selector_object(
            &json!({"matchExpressions": [{"key": "a", "operator": "Gt", "values": ["1"]}]}),
        )
        .unwrap_err();
        assert_eq!(e.0, "\"Gt\" is not a valid label selector operator");
    }

    #[test]
    fn field_selector_equality() {
        let pod = obj("web-1", Some("prod"), json!({}));
        assert!(fmatch("metadata.name=web-1", &pod));
        assert!(fmatch("metadata.name==web-1", &pod));
        assert!(!fmatch("metadata.name=web-2", &pod));
        assert!(fmatch("metadata.name!=web-2", &pod));
        assert!(!fmatch("metadata.name!=web-1", &pod));
        assert!(fmatch("metadata.namespace=prod", &pod));
        assert!(fmatch("metadata.namespace=prod,metadata.name=web-1", &pod));
        assert!(!fmatch(
            "metadata.namespace=prod,metadata.name!=web-1",
            &pod
        ));
    }

    #[test]
    fn field_selector_missing_fields_and_everything() {
        let cluster_scoped = json!({"kind": "Node", "metadata": {"name": "n1"}});
        assert!(fmatch("metadata.namespace=", &cluster_scoped));
        assert!(!fmatch("metadata.namespace=default", &cluster_scoped));
        assert!(fmatch("metadata.namespace!=default", &cluster_scoped));
        assert!(fmatch("metadata.name=", &json!({})));
        let all = FieldSelector::parse("").unwrap();
        assert_eq!(all, FieldSelector::everything());
        assert!(all.matches(&cluster_scoped));
        assert_eq!(
            FieldSelector::parse("metadata.name=a,").unwrap(),
            FieldSelector::parse("metadata.name=a").unwrap()
        );
        assert_eq!(
            FieldSelector::parse("metadata.name=a,metadata.namespace=b").unwrap(),
            FieldSelector::parse("metadata.namespace=b,metadata.name=a").unwrap()
        );
    }

    #[test]
    fn field_selector_escapes() {
        let s = FieldSelector::parse(r"metadata.name=a\,b\=c\\d").unwrap();
        assert!(s.matches(&json!({"metadata": {"name": r"a,b=c\d"}})));
        assert!(!s.matches(&json!({"metadata": {"name": "a"}})));
        assert!(FieldSelector::parse(r"metadata.name=a\x").is_err());
        assert!(FieldSelector::parse(r"metadata.name=a\").is_err());
        assert!(FieldSelector::parse("metadata.name=a=b").is_err());
    }

    #[test]
    fn field_selector_errors() {
        let e = FieldSelector::parse("spec.foo=bar").unwrap_err();
        assert_eq!(e.to_string(), "field label not supported: spec.foo");
        let e = FieldSelector::parse("metadata.name=a,status.phase!=Running").unwrap_err();
        assert_eq!(e.0, "field label not supported: status.phase");
        let e = FieldSelector::parse("metadata.name").unwrap_err();
        assert_eq!(
            e.0,
            "invalid selector: 'metadata.name'; can't understand 'metadata.name'"
        );
        assert!(FieldSelector::parse("=a").is_err());
    }
}
