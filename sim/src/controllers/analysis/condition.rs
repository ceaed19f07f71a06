//! The simple expr-lang subset conditions are written in (see the
//! `analysis` module comment).

use super::query::QueryResult;

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Number(f64),
    Ident(String),
    Op(&'static str),
}

const COMPARISONS: &[&str] = &["<=", ">=", "==", "!=", "<", ">"];
const OPS: &[&str] = &[
    "<=", ">=", "==", "!=", "&&", "||", "<", ">", "!", "(", ")", "[", "]",
];

fn number_len(s: &str) -> usize {
    let bytes = s.as_bytes();
    let mut end = 0;
    while end < bytes.len() {
        let c = bytes[end];
        let exponent_sign =
            (c == b'-' || c == b'+') && end > 0 && matches!(bytes[end - 1], b'e' | b'E');
        if !(c.is_ascii_digit() || c == b'.' || c == b'e' || c == b'E' || exponent_sign) {
            break;
        }
        end += 1;
    }
    end
}

fn tokenize(s: &str) -> Result<Vec<Token>, String> {
    let mut out: Vec<Token> = Vec::new();
    let mut rest = s.trim_start();
    while !rest.is_empty() {
        // A minus sign where an operand starts belongs to a number.
        let operand_expected = !matches!(out.last(), Some(Token::Number(_) | Token::Ident(_)))
            && !matches!(out.last(), Some(Token::Op(")" | "]")));
        let signed = operand_expected && rest.starts_with('-');
        let unsigned = &rest[usize::from(signed)..];
        if unsigned.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
            let len = number_len(unsigned);
            let n: f64 = unsigned[..len]
                .parse()
                .map_err(|_| format!("invalid number {}", &unsigned[..len]))?;
            out.push(Token::Number(if signed { -n } else { n }));
            rest = &unsigned[len..];
        } else if let Some(op) = OPS.iter().find(|op| rest.starts_with(**op)) {
            out.push(Token::Op(op));
            rest = &rest[op.len()..];
        } else if rest.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            out.push(match &rest[..end] {
                "and" => Token::Op("&&"),
                "or" => Token::Op("||"),
                "not" => Token::Op("!"),
                ident => Token::Ident(ident.to_string()),
            });
            rest = &rest[end..];
        } else {
            return Err(format!(
                "unexpected token {:?}",
                rest.chars().next().unwrap_or(' ')
            ));
        }
        rest = rest.trim_start();
    }
    Ok(out)
}

/// Evaluates while parsing: the grammar is small enough that a tree buys nothing.
struct Parser<'a> {
    tokens: Vec<Token>,
    at: usize,
    result: &'a QueryResult,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn eat(&mut self, op: &str) -> bool {
        let found = matches!(self.peek(), Some(Token::Op(o)) if *o == op);
        self.at += usize::from(found);
        found
    }

    fn eat_ident(&mut self, name: &str) -> bool {
        let found = matches!(self.peek(), Some(Token::Ident(i)) if i == name);
        self.at += usize::from(found);
        found
    }

    fn expect(&mut self, op: &str) -> Result<(), String> {
        if self.eat(op) {
            Ok(())
        } else {
            Err(format!("expected {op}"))
        }
    }

    fn or(&mut self) -> Result<bool, String> {
        let mut v = self.and()?;
        while self.eat("||") {
            let rhs = self.and()?;
            v = v || rhs;
        }
        Ok(v)
    }

    fn and(&mut self) -> Result<bool, String> {
        let mut v = self.unary()?;
        while self.eat("&&") {
            let rhs = self.unary()?;
            v = v && rhs;
        }
        Ok(v)
    }

    fn comparison_next(&self) -> Option<&'static str> {
        match self.peek() {
            Some(Token::Op(op)) if COMPARISONS.contains(op) => Some(op),
            _ => None,
        }
    }

    fn unary(&mut self) -> Result<bool, String> {
        if self.eat("!") {
            return Ok(!self.unary()?);
        }
        let save = self.at;
        if self.eat("(") {
            // A parenthesised condition, or the left operand of a comparison.
            if let Ok(v) = self.or()
                && self.eat(")")
                && self.comparison_next().is_none()
            {
                return Ok(v);
            }
            self.at = save;
        }
        for (name, test) in [
            ("isNaN", f64::is_nan as fn(f64) -> bool),
            ("isInf", f64::is_infinite),
        ] {
            if self.eat_ident(name) {
                self.expect("(")?;
                let x = self.operand()?;
                self.expect(")")?;
                return Ok(test(x));
            }
        }
        for (name, value) in [("true", true), ("false", false)] {
            if self.eat_ident(name) {
                return Ok(value);
            }
        }
        let lhs = self.operand()?;
        let op = self.comparison_next().ok_or("expected a comparison")?;
        self.at += 1;
        let rhs = self.operand()?;
        Ok(match op {
            "<" => lhs < rhs,
            "<=" => lhs <= rhs,
            ">" => lhs > rhs,
            ">=" => lhs >= rhs,
            "==" => lhs == rhs,
            _ => lhs != rhs,
        })
    }

    fn operand(&mut self) -> Result<f64, String> {
        if let Some(Token::Number(n)) = self.peek() {
            let n = *n;
            self.at += 1;
            return Ok(n);
        }
        if self.eat("(") {
            let v = self.operand()?;
            self.expect(")")?;
            return Ok(v);
        }
        if self.eat_ident("len") {
            self.expect("(")?;
            if !self.eat_ident("result") {
                return Err("len() takes result".into());
            }
            self.expect(")")?;
            return match self.result {
                QueryResult::Vector(v) => Ok(v.len() as f64),
                QueryResult::Scalar(_) => Err("len() of a scalar".into()),
            };
        }
        if !self.eat_ident("result") {
            return Err(format!("unexpected {:?}", self.peek()));
        }
        if !self.eat("[") {
            return self.whole_result();
        }
        let Some(Token::Number(i)) = self.peek().cloned() else {
            return Err("expected an index".into());
        };
        self.at += 1;
        self.expect("]")?;
        match self.result {
            QueryResult::Vector(v) => v.get(i as usize).copied().ok_or_else(|| {
                format!(
                    "runtime error: index out of range [{i}] with length {}",
                    v.len()
                )
            }),
            QueryResult::Scalar(_) => Err("cannot index a scalar".into()),
        }
    }

    fn whole_result(&self) -> Result<f64, String> {
        match self.result {
            QueryResult::Scalar(x) => Ok(*x),
            QueryResult::Vector(v) if v.len() == 1 => Ok(v[0]),
            QueryResult::Vector(_) => {
                Err("invalid operation: mismatched types []float64 and float64".into())
            }
        }
    }
}

/// Whether `condition` holds for `result`.
pub fn eval(condition: &str, result: &QueryResult) -> Result<bool, String> {
    let mut p = Parser {
        tokens: tokenize(condition)?,
        at: 0,
        result,
    };
    let v = p.or()?;
    match p.peek() {
        None => Ok(v),
        Some(t) => Err(format!("unexpected {t:?}")),
    }
}
