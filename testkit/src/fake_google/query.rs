//! The Drive `q` language, as much of it as a backup client sends: `'id' in parents`,
//! `trashed`, `mimeType`, `name` (`=` is case-insensitive, `contains`), `modifiedTime`
//! comparisons, `sharedWithMe`, `starred`, `and`/`or`/`not` and parentheses.

use super::store::FileEntry;

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    InParents(String),
    Compare { field: Field, op: Op, value: Value },
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Field {
    Name,
    MimeType,
    Trashed,
    ModifiedTime,
    SharedWithMe,
    Starred,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Contains,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(String),
    Bool(bool),
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Str(String),
    Word(String),
    Op(&'static str),
    Open,
    Close,
}

fn tokenize(q: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = q.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' | '\n' => i += 1,
            '(' => {
                out.push(Token::Open);
                i += 1;
            }
            ')' => {
                out.push(Token::Close);
                i += 1;
            }
            '\'' => {
                let mut s = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err("unterminated string literal".into()),
                        Some('\\') => {
                            match chars.get(i + 1) {
                                Some(&e @ ('\'' | '\\')) => s.push(e),
                                _ => return Err("bad escape in string literal".into()),
                            }
                            i += 2;
                        }
                        Some('\'') => {
                            i += 1;
                            break;
                        }
                        Some(&ch) => {
                            s.push(ch);
                            i += 1;
                        }
                    }
                }
                out.push(Token::Str(s));
            }
            '!' if chars.get(i + 1) == Some(&'=') => {
                out.push(Token::Op("!="));
                i += 2;
            }
            '<' | '>' => {
                if chars.get(i + 1) == Some(&'=') {
                    out.push(Token::Op(if c == '<' { "<=" } else { ">=" }));
                    i += 2;
                } else {
                    out.push(Token::Op(if c == '<' { "<" } else { ">" }));
                    i += 1;
                }
            }
            '=' => {
                out.push(Token::Op("="));
                i += 1;
            }
            c if c.is_ascii_alphanumeric() || c == '_' => {
                let start = i;
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == '.') {
                    i += 1;
                }
                out.push(Token::Word(chars[start..i].iter().collect()));
            }
            other => return Err(format!("unexpected character `{other}`")),
        }
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

impl Parser {
    fn peek_word(&self, word: &str) -> bool {
        matches!(self.tokens.get(self.pos), Some(Token::Word(w)) if w.eq_ignore_ascii_case(word))
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn or(&mut self) -> Result<Expr, String> {
        let mut left = self.and()?;
        while self.peek_word("or") {
            self.pos += 1;
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, String> {
        let mut left = self.not()?;
        while self.peek_word("and") {
            self.pos += 1;
            left = Expr::And(Box::new(left), Box::new(self.not()?));
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Expr, String> {
        if self.peek_word("not") {
            self.pos += 1;
            return Ok(Expr::Not(Box::new(self.not()?)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, String> {
        match self.next() {
            Some(Token::Open) => {
                let e = self.or()?;
                match self.next() {
                    Some(Token::Close) => Ok(e),
                    _ => Err("missing `)`".into()),
                }
            }
            Some(Token::Str(s)) => {
                if !self.peek_word("in") {
                    return Err("expected `in` after a string".into());
                }
                self.pos += 1;
                match self.next() {
                    Some(Token::Word(w)) if w == "parents" => Ok(Expr::InParents(s)),
                    other => Err(format!("unsupported collection {other:?}")),
                }
            }
            Some(Token::Word(w)) => {
                let field = match w.as_str() {
                    "name" => Field::Name,
                    "mimeType" => Field::MimeType,
                    "trashed" => Field::Trashed,
                    "modifiedTime" => Field::ModifiedTime,
                    "sharedWithMe" => Field::SharedWithMe,
                    "starred" => Field::Starred,
                    other => return Err(format!("unknown field `{other}`")),
                };
                let op = match self.next() {
                    Some(Token::Op("=")) => Op::Eq,
                    Some(Token::Op("!=")) => Op::Ne,
                    Some(Token::Op("<")) => Op::Lt,
                    Some(Token::Op("<=")) => Op::Le,
                    Some(Token::Op(">")) => Op::Gt,
                    Some(Token::Op(">=")) => Op::Ge,
                    Some(Token::Word(w)) if w == "contains" => Op::Contains,
                    other => return Err(format!("expected an operator, found {other:?}")),
                };
                let value = match self.next() {
                    Some(Token::Str(s)) => Value::Str(s),
                    Some(Token::Word(w)) if w == "true" => Value::Bool(true),
                    Some(Token::Word(w)) if w == "false" => Value::Bool(false),
                    other => return Err(format!("expected a value, found {other:?}")),
                };
                let valid = match field {
                    Field::Trashed | Field::SharedWithMe | Field::Starred => {
                        matches!(value, Value::Bool(_)) && matches!(op, Op::Eq | Op::Ne)
                    }
                    Field::Name | Field::MimeType => {
                        matches!(value, Value::Str(_)) && matches!(op, Op::Eq | Op::Ne | Op::Contains)
                    }
                    Field::ModifiedTime => matches!(value, Value::Str(_)) && op != Op::Contains,
                };
                if !valid {
                    return Err(format!("invalid operator or value for `{w}`"));
                }
                Ok(Expr::Compare { field, op, value })
            }
            other => Err(format!("unexpected {other:?}")),
        }
    }
}

pub fn parse(q: &str) -> Result<Expr, String> {
    let mut parser = Parser { tokens: tokenize(q)?, pos: 0 };
    let expr = parser.or()?;
    if parser.pos != parser.tokens.len() {
        return Err("unexpected trailing input".into());
    }
    Ok(expr)
}

pub fn matches(expr: &Expr, f: &FileEntry) -> bool {
    match expr {
        Expr::And(a, b) => matches(a, f) && matches(b, f),
        Expr::Or(a, b) => matches(a, f) || matches(b, f),
        Expr::Not(e) => !matches(e, f),
        // Drive accepts the `root` alias for My Drive here too.
        Expr::InParents(id) => f.parents.iter().any(|p| p == id || (id == "root" && p == super::store::ROOT_ID)),
        Expr::Compare { field, op, value } => {
            let cmp_str = |actual: &str, expected: &str, case_insensitive: bool| -> bool {
                let (a, e) = if case_insensitive {
                    (actual.to_lowercase(), expected.to_lowercase())
                } else {
                    (actual.to_string(), expected.to_string())
                };
                match op {
                    Op::Eq => a == e,
                    Op::Ne => a != e,
                    Op::Contains => a.contains(&e),
                    Op::Lt => a < e,
                    Op::Le => a <= e,
                    Op::Gt => a > e,
                    Op::Ge => a >= e,
                }
            };
            match (field, value) {
                (Field::Name, Value::Str(s)) if *op == Op::Contains => name_contains(&f.name, s),
                (Field::Name, Value::Str(s)) => cmp_str(&f.name, s, true),
                (Field::MimeType, Value::Str(s)) => cmp_str(&f.mime_type, s, false),
                (Field::ModifiedTime, Value::Str(s)) => cmp_str(&f.modified_time, s, false),
                (Field::Trashed, Value::Bool(b)) => (f.trashed == *b) == (*op == Op::Eq),
                (Field::SharedWithMe, Value::Bool(b)) => (f.owned_by_me != *b) == (*op == Op::Eq),
                // Nothing is starred in the fake.
                (Field::Starred, Value::Bool(b)) => *b != (*op == Op::Eq),
                _ => false,
            }
        }
    }
}

/// Drive's `name contains`: "only performs prefix matching for a name term" (Drive v3 search
/// guide: for `HelloWorld`, `contains 'Hello'` matches and `contains 'World'` does not). A term
/// is a run of letters and digits; case is ignored.
fn name_contains(name: &str, term: &str) -> bool {
    let (name, term) = (name.to_lowercase(), term.to_lowercase());
    name.starts_with(&term)
        || name
            .char_indices()
            .filter(|&(i, c)| {
                c.is_alphanumeric() && name[..i].chars().next_back().is_some_and(|p| !p.is_alphanumeric())
            })
            .any(|(i, _)| name[i..].starts_with(&term))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_contains_matches_the_start_of_a_term_only() {
        assert!(name_contains("HelloWorld", "hello"));
        assert!(!name_contains("HelloWorld", "World"));
        assert!(name_contains("Hello World", "wor"));
        assert!(name_contains("2024-reports", "rep"));
        assert!(!name_contains("Projects", "ject"));
    }

    #[test]
    fn parses_batched_parent_queries_with_escapes() {
        let e = parse(r"trashed = false and ('a\'b' in parents or 'c' in parents)").unwrap();
        match e {
            Expr::And(_, right) => match *right {
                Expr::Or(l, _) => assert_eq!(*l, Expr::InParents("a'b".into())),
                other => panic!("{other:?}"),
            },
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn refuses_what_it_does_not_know() {
        assert!(parse("fullText contains 'x'").is_err());
        assert!(parse("name = ").is_err());
        assert!(parse("trashed = 'yes'").is_err());
        assert!(parse("'x' in owners").is_err());
    }
}
