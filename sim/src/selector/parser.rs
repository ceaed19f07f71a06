//! The label selector language: its tokens, lexer and parser (after
//! apimachinery's `labels.Parse`).

use super::SelectorError;
use super::requirement::{LabelOp, LabelRequirement, validate_label_key};
use std::collections::BTreeSet;

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

/// The requirements of a `labelSelector` query value.
pub(super) fn parse_requirements(s: &str) -> Result<Vec<LabelRequirement>, SelectorError> {
    Parser {
        tokens: lex(s),
        pos: 0,
    }
    .parse()
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

    pub(super) fn requirement(&mut self) -> Result<LabelRequirement, String> {
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

    pub(super) fn operator(&mut self) -> Result<LabelOp, String> {
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
