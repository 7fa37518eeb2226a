//! Dynamic membership rules: the subset of Microsoft Entra ID's rule language
//! that tests user properties.
//!
//! This module owns parsing rule text into a [`MembershipRule`], reporting
//! malformed rules as a [`RuleError`] that points at the offending column, and
//! evaluating a parsed rule against anything implementing [`RuleSubject`].
//! It deliberately knows nothing about where users come from or how groups are
//! stored; callers adapt their own user type through [`RuleSubject`].
//!
//! Behaviour follows Entra where Entra is documented: operators, property
//! names and string comparisons are case-insensitive, `-not` binds tighter
//! than `-and`, which binds tighter than `-or`, and rules are limited to 3072
//! characters.

use std::fmt;
use std::str::FromStr;

use regex::{Regex, RegexBuilder};

/// A value a user property can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value<'a> {
    Str(&'a str),
    Bool(bool),
    Null,
}

/// What a rule is evaluated against.
///
/// `name` is the property name after `user.`, always passed in the canonical
/// camelCase spelling from [`SUPPORTED_PROPERTIES`], whatever casing the rule
/// text used.
pub trait RuleSubject {
    fn property(&self, name: &str) -> Value<'_>;
}

/// The user properties a rule may reference (canonical camelCase). Matching of
/// names in rule text is case-insensitive.
pub const SUPPORTED_PROPERTIES: &[&str] = &[
    "accountEnabled",
    "city",
    "country",
    "companyName",
    "department",
    "displayName",
    "employeeId",
    "givenName",
    "jobTitle",
    "mail",
    "mailNickname",
    "mobile",
    "objectId",
    "physicalDeliveryOfficeName",
    "postalCode",
    "state",
    "streetAddress",
    "surname",
    "telephoneNumber",
    "usageLocation",
    "userPrincipalName",
    "userType",
];

/// Entra refuses rules longer than this, so a rule accepted here can always be
/// pushed to Entra unchanged.
pub const MAX_RULE_CHARS: usize = 3072;

/// Parsing and evaluation recurse once per `(` or `-not`; the cap keeps a
/// hostile rule from exhausting a small (e.g. async worker) thread stack.
/// Real rules never come close.
const MAX_NESTING: usize = 128;

/// Conditions (`user.x -op value` clauses) one rule may hold (item 18). Evaluation is linear in
/// them, and each `-match` compiles a regex; a rule at Entra's length limit holds at most about
/// 140 of the shortest conditions, real rules a handful.
pub const MAX_CONDITIONS: usize = 100;

/// The most memory one `-match` pattern may compile to, and the most its lazy DFA may cache
/// (`regex::RegexBuilder::size_limit` / `dfa_size_limit`; the crate's defaults are 10 MiB and
/// 2 MiB). Case-insensitive Unicode classes such as `\w` fit; pathological repetitions such as
/// `(a{100}){100}` do not.
pub const MAX_REGEX_BYTES: usize = 1 << 20;
pub const MAX_REGEX_DFA_BYTES: usize = 1 << 20;

const END_OF_RULE: &str = "end of rule";

/// A malformed rule. `position` is the 1-based character offset into the rule
/// text (newlines count as one character, columns do not restart per line).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid membership rule at position {position}: expected {expected}, found {found}")]
pub struct RuleError {
    pub position: usize,
    pub expected: String,
    pub found: String,
}

impl RuleError {
    fn new(position: usize, expected: impl Into<String>, found: impl Into<String>) -> Self {
        RuleError {
            position,
            expected: expected.into(),
            found: found.into(),
        }
    }
}

/// A parsed dynamic membership rule, together with the text it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MembershipRule {
    text: String,
    expr: Expr,
}

impl MembershipRule {
    pub fn parse(text: &str) -> Result<MembershipRule, RuleError> {
        let chars = text.chars().count();
        if chars > MAX_RULE_CHARS {
            return Err(RuleError::new(
                MAX_RULE_CHARS + 1,
                format!("at most {MAX_RULE_CHARS} characters"),
                format!("{chars} characters"),
            ));
        }
        let tokens = lex(text);
        let mut parser = Parser {
            tokens: &tokens,
            idx: 0,
            depth: 0,
            conditions: 0,
        };
        let expr = parser.parse_or()?;
        let trailing = parser.peek()?;
        if trailing.kind != Kind::Eof {
            return Err(unexpected(trailing, END_OF_RULE));
        }
        Ok(MembershipRule {
            text: text.to_owned(),
            expr,
        })
    }

    pub fn matches(&self, subject: &dyn RuleSubject) -> bool {
        self.expr.eval(subject)
    }

    /// The rule exactly as it was given to [`MembershipRule::parse`].
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Canonical property names referenced by the rule (deduplicated, sorted).
    pub fn properties(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        self.expr.collect_properties(&mut out);
        out.sort_unstable();
        out.dedup();
        out
    }
}

impl FromStr for MembershipRule {
    type Err = RuleError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        MembershipRule::parse(s)
    }
}

impl fmt::Display for MembershipRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

// ---------------------------------------------------------------------------
// AST and evaluation
// ---------------------------------------------------------------------------

/// `-and`/`-or` chains are kept flat rather than as nested binary nodes: the
/// operators are associative, and long `-or` chains are common in real rules,
/// so a flat list keeps evaluation and drop from recursing per condition.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Expr {
    Any(Vec<Expr>),
    All(Vec<Expr>),
    Not(Box<Expr>),
    Cond(Condition),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Condition {
    property: &'static str,
    /// Every negated operator is exactly the negation of its positive form,
    /// which is also what makes them true for a null property.
    negated: bool,
    test: Test,
}

/// Literals are stored already case-folded so evaluation only folds the
/// property side.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Test {
    /// `null` is stored as the empty string: Entra treats an empty property
    /// and a missing one alike.
    Equals(String),
    StartsWith(String),
    Contains(String),
    In(Vec<String>),
    Matches(Pattern),
}

/// `Regex` has no equality; two patterns are the same if their source is.
#[derive(Debug, Clone)]
struct Pattern(Regex);

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_str() == other.0.as_str()
    }
}

impl Eq for Pattern {}

impl Expr {
    fn eval(&self, subject: &dyn RuleSubject) -> bool {
        match self {
            Expr::Any(items) => items.iter().any(|e| e.eval(subject)),
            Expr::All(items) => items.iter().all(|e| e.eval(subject)),
            Expr::Not(inner) => !inner.eval(subject),
            Expr::Cond(cond) => cond.eval(subject),
        }
    }

    fn collect_properties(&self, out: &mut Vec<&'static str>) {
        match self {
            Expr::Any(items) | Expr::All(items) => {
                items.iter().for_each(|e| e.collect_properties(out));
            }
            Expr::Not(inner) => inner.collect_properties(out),
            Expr::Cond(cond) => out.push(cond.property),
        }
    }
}

impl Condition {
    fn eval(&self, subject: &dyn RuleSubject) -> bool {
        // Booleans compare by their textual form so that `-eq true`,
        // `-eq "True"` and string properties holding "true" all agree.
        let text: Option<&str> = match subject.property(self.property) {
            Value::Str(s) => Some(s),
            Value::Bool(true) => Some("true"),
            Value::Bool(false) => Some("false"),
            Value::Null => None,
        };
        let hit = match &self.test {
            Test::Equals(want) => fold(text.unwrap_or("")) == *want,
            Test::StartsWith(want) => text.is_some_and(|s| fold(s).starts_with(want.as_str())),
            Test::Contains(want) => text.is_some_and(|s| fold(s).contains(want.as_str())),
            Test::In(list) => text.is_some_and(|s| list.contains(&fold(s))),
            Test::Matches(pattern) => text.is_some_and(|s| pattern.0.is_match(s)),
        };
        hit != self.negated
    }
}

/// Per-character lowercasing rather than `str::to_lowercase`, whose
/// context-sensitive final-sigma rule could make a literal and a property
/// fold differently depending on what surrounds them.
fn fold(s: &str) -> String {
    s.chars().flat_map(char::to_lowercase).collect()
}

// ---------------------------------------------------------------------------
// Lexer
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    /// `-` followed by ASCII letters: operators and `-and`/`-or`/`-not`.
    Dash,
    /// Letters, digits, `_` and `.`: `user.department`, `true`, `null`, or a
    /// stray bare word.
    Word,
    /// A quoted string, unescaped.
    Str(String),
    /// A string whose closing quote never came. Reported only when the
    /// parser reaches it, so earlier mistakes are reported first.
    Unterminated(char),
    /// Anything else, e.g. `==`; kept as a token so the parser can say what
    /// it expected there.
    Other,
    Eof,
}

#[derive(Debug, Clone)]
struct Token<'a> {
    kind: Kind,
    /// 1-based character position of the token's first character.
    pos: usize,
    raw: &'a str,
}

impl Token<'_> {
    fn found(&self) -> String {
        match self.kind {
            Kind::Eof => END_OF_RULE.to_owned(),
            _ => self.raw.to_owned(),
        }
    }

    fn is_keyword(&self, keyword: &str) -> bool {
        self.kind == Kind::Dash && self.raw[1..].eq_ignore_ascii_case(keyword)
    }
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '.'
}

fn punctuation(c: char) -> Option<Kind> {
    match c {
        '(' => Some(Kind::LParen),
        ')' => Some(Kind::RParen),
        '[' => Some(Kind::LBracket),
        ']' => Some(Kind::RBracket),
        ',' => Some(Kind::Comma),
        _ => None,
    }
}

fn starts_other_token(c: char) -> bool {
    !(c.is_whitespace()
        || punctuation(c).is_some()
        || c == '"'
        || c == '\''
        || c == '-'
        || is_word_char(c))
}

fn lex(text: &str) -> Vec<Token<'_>> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let byte_at = |i: usize| chars.get(i).map_or(text.len(), |&(b, _)| b);
    let char_at = |i: usize| chars.get(i).map(|&(_, c)| c);
    let mut tokens = Vec::new();
    let mut i = 0;
    while let Some(c) = char_at(i) {
        let start = i;
        i += 1;
        let kind = if c.is_whitespace() {
            continue;
        } else if let Some(kind) = punctuation(c) {
            kind
        } else if c == '"' || c == '\'' {
            let mut value = String::new();
            loop {
                match char_at(i) {
                    None => break Kind::Unterminated(c),
                    Some(q) if q == c => {
                        i += 1;
                        break Kind::Str(value);
                    }
                    // Only quotes and backslashes are escapes; any other
                    // backslash is kept so regex escapes like `\d` and `\.`
                    // survive without doubling.
                    Some('\\') => match char_at(i + 1) {
                        Some(e @ ('"' | '\'' | '\\')) => {
                            value.push(e);
                            i += 2;
                        }
                        _ => {
                            value.push('\\');
                            i += 1;
                        }
                    },
                    Some(other) => {
                        value.push(other);
                        i += 1;
                    }
                }
            }
        } else if is_word_char(c) {
            while char_at(i).is_some_and(is_word_char) {
                i += 1;
            }
            Kind::Word
        } else if c == '-' && char_at(i).is_some_and(|n| n.is_ascii_alphabetic()) {
            while char_at(i).is_some_and(|n| n.is_ascii_alphabetic()) {
                i += 1;
            }
            Kind::Dash
        } else {
            while char_at(i).is_some_and(starts_other_token) {
                i += 1;
            }
            Kind::Other
        };
        tokens.push(Token {
            kind,
            pos: start + 1,
            raw: &text[byte_at(start)..byte_at(i)],
        });
    }
    tokens.push(Token {
        kind: Kind::Eof,
        pos: chars.len() + 1,
        raw: "",
    });
    tokens
}

// ---------------------------------------------------------------------------
// Parser
// ---------------------------------------------------------------------------

#[derive(Clone, Copy)]
enum Op {
    Eq,
    Ne,
    StartsWith,
    NotStartsWith,
    Contains,
    NotContains,
    In,
    NotIn,
    Match,
    NotMatch,
}

const OPERATORS: &[(&str, Op)] = &[
    ("eq", Op::Eq),
    ("ne", Op::Ne),
    ("startsWith", Op::StartsWith),
    ("notStartsWith", Op::NotStartsWith),
    ("contains", Op::Contains),
    ("notContains", Op::NotContains),
    ("in", Op::In),
    ("notIn", Op::NotIn),
    ("match", Op::Match),
    ("notMatch", Op::NotMatch),
];

fn unexpected(token: &Token<'_>, expected: &str) -> RuleError {
    RuleError::new(token.pos, expected, token.found())
}

/// A scalar literal before the operator decides what it may be.
enum Literal {
    Text(String),
    Null,
}

struct Parser<'t, 'a> {
    tokens: &'t [Token<'a>],
    idx: usize,
    depth: usize,
    conditions: usize,
}

impl<'t, 'a> Parser<'t, 'a> {
    fn peek(&self) -> Result<&'t Token<'a>, RuleError> {
        let token = &self.tokens[self.idx];
        match token.kind {
            Kind::Unterminated(quote) => Err(RuleError::new(
                token.pos,
                format!("a closing {quote}"),
                END_OF_RULE,
            )),
            _ => Ok(token),
        }
    }

    fn next(&mut self) -> Result<&'t Token<'a>, RuleError> {
        let token = self.peek()?;
        if token.kind != Kind::Eof {
            self.idx += 1;
        }
        Ok(token)
    }

    fn parse_or(&mut self) -> Result<Expr, RuleError> {
        let mut items = vec![self.parse_and()?];
        while self.peek()?.is_keyword("or") {
            self.idx += 1;
            items.push(self.parse_and()?);
        }
        Ok(flatten(items, Expr::Any))
    }

    fn parse_and(&mut self) -> Result<Expr, RuleError> {
        let mut items = vec![self.parse_unary()?];
        while self.peek()?.is_keyword("and") {
            self.idx += 1;
            items.push(self.parse_unary()?);
        }
        Ok(flatten(items, Expr::All))
    }

    fn parse_unary(&mut self) -> Result<Expr, RuleError> {
        let token = self.peek()?;
        if token.is_keyword("not") {
            self.idx += 1;
            self.enter(token)?;
            let inner = self.parse_unary()?;
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(inner)));
        }
        self.parse_primary()
    }

    fn parse_primary(&mut self) -> Result<Expr, RuleError> {
        let token = self.next()?;
        match token.kind {
            Kind::LParen => {
                self.enter(token)?;
                let inner = self.parse_or()?;
                let close = self.next()?;
                if close.kind != Kind::RParen {
                    return Err(unexpected(close, "')'"));
                }
                self.depth -= 1;
                Ok(inner)
            }
            Kind::Word => {
                self.conditions += 1;
                if self.conditions > MAX_CONDITIONS {
                    return Err(RuleError::new(
                        token.pos,
                        format!("at most {MAX_CONDITIONS} conditions"),
                        format!("condition {}", self.conditions),
                    ));
                }
                self.parse_condition(token).map(Expr::Cond)
            }
            _ => Err(unexpected(token, "`user.`")),
        }
    }

    fn enter(&mut self, token: &Token<'_>) -> Result<(), RuleError> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(unexpected(
                token,
                &format!("at most {MAX_NESTING} levels of nesting"),
            ));
        }
        Ok(())
    }

    fn parse_condition(&mut self, subject: &Token<'a>) -> Result<Condition, RuleError> {
        const PREFIX: &str = "user.";
        let has_prefix = subject
            .raw
            .get(..PREFIX.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(PREFIX));
        if !has_prefix {
            return Err(unexpected(subject, "`user.`"));
        }
        let name = &subject.raw[PREFIX.len()..];
        // The prefix is ASCII, so its byte length is also its char length.
        let name_pos = subject.pos + PREFIX.len();
        let property = if name.is_empty() {
            let after = &self.tokens[self.idx];
            return Err(RuleError::new(
                name_pos,
                "a supported user property",
                after.found(),
            ));
        } else {
            SUPPORTED_PROPERTIES
                .iter()
                .copied()
                .find(|p| p.eq_ignore_ascii_case(name))
                .ok_or_else(|| RuleError::new(name_pos, "a supported user property", name))?
        };

        let op_token = self.next()?;
        let op = OPERATORS
            .iter()
            .find(|(kw, _)| op_token.is_keyword(kw))
            .map(|&(_, op)| op)
            .ok_or_else(|| unexpected(op_token, "an operator such as -eq"))?;

        let (negated, test) = match op {
            Op::Eq | Op::Ne => {
                let (_, literal) = self.parse_literal()?;
                let want = match literal {
                    Literal::Text(t) => t,
                    Literal::Null => String::new(),
                };
                (matches!(op, Op::Ne), Test::Equals(want))
            }
            Op::StartsWith | Op::NotStartsWith => (
                matches!(op, Op::NotStartsWith),
                Test::StartsWith(self.parse_text()?),
            ),
            Op::Contains | Op::NotContains => (
                matches!(op, Op::NotContains),
                Test::Contains(self.parse_text()?),
            ),
            Op::In | Op::NotIn => (matches!(op, Op::NotIn), Test::In(self.parse_list()?)),
            Op::Match | Op::NotMatch => (
                matches!(op, Op::NotMatch),
                Test::Matches(self.parse_pattern()?),
            ),
        };
        Ok(Condition {
            property,
            negated,
            test,
        })
    }

    fn parse_literal(&mut self) -> Result<(&'t Token<'a>, Literal), RuleError> {
        let token = self.next()?;
        let literal = match &token.kind {
            Kind::Str(s) => Literal::Text(fold(s)),
            Kind::Word if token.raw.eq_ignore_ascii_case("true") => Literal::Text("true".into()),
            Kind::Word if token.raw.eq_ignore_ascii_case("false") => Literal::Text("false".into()),
            Kind::Word if token.raw.eq_ignore_ascii_case("null") => Literal::Null,
            _ => return Err(unexpected(token, "a value")),
        };
        Ok((token, literal))
    }

    /// A literal for the substring operators and lists, where `null` has no
    /// sensible meaning.
    fn parse_text(&mut self) -> Result<String, RuleError> {
        match self.parse_literal()? {
            (_, Literal::Text(t)) => Ok(t),
            (token, Literal::Null) => Err(unexpected(token, "a quoted string")),
        }
    }

    fn parse_list(&mut self) -> Result<Vec<String>, RuleError> {
        let open = self.next()?;
        if open.kind != Kind::LBracket {
            return Err(unexpected(open, r#"a list such as ["a", "b"]"#));
        }
        let mut items = vec![self.parse_text()?];
        loop {
            let token = self.next()?;
            match token.kind {
                Kind::Comma => items.push(self.parse_text()?),
                Kind::RBracket => return Ok(items),
                _ => return Err(unexpected(token, "',' or ']'")),
            }
        }
    }

    fn parse_pattern(&mut self) -> Result<Pattern, RuleError> {
        let token = self.next()?;
        let Kind::Str(source) = &token.kind else {
            return Err(unexpected(token, "a quoted regular expression"));
        };
        RegexBuilder::new(source)
            .case_insensitive(true)
            .size_limit(MAX_REGEX_BYTES)
            .dfa_size_limit(MAX_REGEX_DFA_BYTES)
            .build()
            .map(Pattern)
            .map_err(|err| {
                RuleError::new(
                    token.pos,
                    format!("a valid regular expression ({})", regex_reason(&err)),
                    token.raw,
                )
            })
    }
}

fn flatten(mut items: Vec<Expr>, wrap: fn(Vec<Expr>) -> Expr) -> Expr {
    if items.len() == 1 {
        items.pop().expect("one item")
    } else {
        wrap(items)
    }
}

/// The regex crate's syntax errors are multi-line diagrams; only the final
/// `error: ...` line reads well inside a one-line message.
fn regex_reason(err: &regex::Error) -> String {
    match err {
        regex::Error::Syntax(msg) => msg
            .lines()
            .rev()
            .find_map(|line| line.trim().strip_prefix("error: "))
            .unwrap_or("syntax error")
            .to_owned(),
        regex::Error::CompiledTooBig(_) => {
            format!("a pattern that compiles to at most {MAX_REGEX_BYTES} bytes")
        }
        _ => "unsupported pattern".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// Panics on non-canonical names, so every test also checks that the
    /// evaluator only ever asks for properties in their canonical spelling.
    #[derive(Default)]
    struct User(HashMap<&'static str, Value<'static>>);

    impl User {
        fn with(mut self, name: &'static str, value: Value<'static>) -> Self {
            self.0.insert(name, value);
            self
        }
        fn s(self, name: &'static str, value: &'static str) -> Self {
            self.with(name, Value::Str(value))
        }
    }

    impl RuleSubject for User {
        fn property(&self, name: &str) -> Value<'_> {
            assert!(
                SUPPORTED_PROPERTIES.contains(&name),
                "asked for non-canonical property {name:?}"
            );
            self.0.get(name).copied().unwrap_or(Value::Null)
        }
    }

    fn sales() -> User {
        User::default()
            .s("department", "Sales")
            .s("city", "Oslo")
            .s("mail", "Ada.Lovelace@Example.com")
            .s("jobTitle", "Senior Engineer")
            .s("country", "")
            .with("accountEnabled", Value::Bool(true))
    }

    fn eval(rule: &str, user: &User) -> bool {
        MembershipRule::parse(rule)
            .unwrap_or_else(|e| panic!("{rule:?} should parse: {e}"))
            .matches(user)
    }

    fn err(rule: &str) -> RuleError {
        MembershipRule::parse(rule).expect_err(rule)
    }

    fn assert_err(rule: &str, position: usize, expected: &str, found: &str) {
        assert_eq!(
            err(rule),
            RuleError {
                position,
                expected: expected.into(),
                found: found.into()
            },
            "rule: {rule:?}"
        );
    }

    // --- operators -------------------------------------------------------

    #[test]
    fn eq_and_ne() {
        let u = sales();
        assert!(eval(r#"user.department -eq "Sales""#, &u));
        assert!(!eval(r#"user.department -eq "Marketing""#, &u));
        assert!(eval(r#"user.department -ne "Marketing""#, &u));
        assert!(!eval(r#"user.department -ne "Sales""#, &u));
    }

    #[test]
    fn eq_is_whole_value_not_prefix() {
        assert!(!eval(r#"user.department -eq "Sale""#, &sales()));
    }

    #[test]
    fn starts_with_and_negation() {
        let u = sales();
        assert!(eval(r#"user.jobTitle -startsWith "Senior""#, &u));
        assert!(!eval(r#"user.jobTitle -startsWith "Engineer""#, &u));
        assert!(eval(r#"user.jobTitle -notStartsWith "Junior""#, &u));
        assert!(!eval(r#"user.jobTitle -notStartsWith "Senior""#, &u));
    }

    #[test]
    fn contains_and_negation() {
        let u = sales();
        assert!(eval(r#"user.mail -contains "@example""#, &u));
        assert!(!eval(r#"user.mail -contains "@contoso""#, &u));
        assert!(eval(r#"user.mail -notContains "@contoso""#, &u));
        assert!(!eval(r#"user.mail -notContains "lovelace""#, &u));
    }

    #[test]
    fn in_and_not_in() {
        let u = sales();
        assert!(eval(r#"user.city -in ["Bergen", "Oslo"]"#, &u));
        assert!(!eval(r#"user.city -in ["Bergen", "Trondheim"]"#, &u));
        assert!(eval(r#"user.city -notIn ["Bergen","Trondheim"]"#, &u));
        assert!(!eval(r#"user.city -notIn ["Oslo"]"#, &u));
        assert!(
            !eval(r#"user.city -in ["Osl"]"#, &u),
            "no substring matching"
        );
    }

    #[test]
    fn match_and_not_match() {
        let u = sales();
        assert!(eval(r#"user.mail -match "^[a-z.]+@example\.com$""#, &u));
        assert!(!eval(r#"user.mail -match "@contoso\.com$""#, &u));
        assert!(eval(r#"user.mail -notMatch "@contoso\.com$""#, &u));
        assert!(!eval(r#"user.mail -notMatch "lovelace""#, &u));
    }

    #[test]
    fn match_is_unanchored_and_case_insensitive() {
        let u = sales();
        assert!(eval(r#"user.jobTitle -match "ENGINEER""#, &u));
        assert!(eval(r#"user.jobTitle -match "\\bsenior\\b""#, &u));
    }

    // --- case-insensitivity ----------------------------------------------

    #[test]
    fn string_comparisons_ignore_case() {
        let u = sales();
        assert!(eval(r#"user.department -eq "SALES""#, &u));
        assert!(eval(r#"user.jobTitle -startsWith "senior""#, &u));
        assert!(eval(r#"user.mail -contains "LOVELACE""#, &u));
        assert!(eval(r#"user.city -in ["OSLO"]"#, &u));
        assert!(!eval(r#"user.department -ne "sAlEs""#, &u));
    }

    #[test]
    fn non_ascii_case_folding() {
        let u = User::default().s("city", "MÜNCHEN");
        assert!(eval(r#"user.city -eq "münchen""#, &u));
        assert!(eval(r#"user.city -contains "Ünc""#, &u));
    }

    #[test]
    fn operators_keywords_and_properties_ignore_case() {
        let u = sales();
        assert!(eval(r#"USER.DEPARTMENT -EQ "Sales""#, &u));
        assert!(eval(
            r#"User.JobTitle -STARTSWITH "s" -AND user.city -NotIn ["x"]"#,
            &u
        ));
        assert!(eval(r#"-NOT user.city -eq "x" -OR user.city -eq "y""#, &u));
    }

    // --- logic -----------------------------------------------------------

    #[test]
    fn and_or() {
        let u = sales();
        assert!(eval(
            r#"user.department -eq "Sales" -and user.city -eq "Oslo""#,
            &u
        ));
        assert!(!eval(
            r#"user.department -eq "Sales" -and user.city -eq "Rome""#,
            &u
        ));
        assert!(eval(
            r#"user.department -eq "HR" -or user.city -eq "Oslo""#,
            &u
        ));
        assert!(!eval(
            r#"user.department -eq "HR" -or user.city -eq "Rome""#,
            &u
        ));
    }

    #[test]
    fn and_binds_tighter_than_or() {
        let u = sales();
        // Each rule evaluates differently under the two possible precedences.
        // true -or (false -and false) = true; (true -or false) -and false = false.
        assert!(eval(
            r#"user.city -eq "Oslo" -or user.city -eq "x" -and user.city -eq "y""#,
            &u
        ));
        // (false -and true) -or true = true; false -and (true -or true) = false.
        assert!(eval(
            r#"user.city -eq "x" -and user.city -eq "Oslo" -or user.department -eq "Sales""#,
            &u
        ));
        assert!(!eval(
            r#"user.city -eq "x" -and (user.city -eq "Oslo" -or user.department -eq "Sales")"#,
            &u
        ));
    }

    #[test]
    fn not_binds_tightest() {
        let u = sales();
        // (-not true) -or true = true; -not (true -or true) = false.
        assert!(eval(
            r#"-not user.city -eq "Oslo" -or user.department -eq "Sales""#,
            &u
        ));
        // (-not false) -and false = false; -not (false -and false) = true.
        assert!(!eval(
            r#"-not user.city -eq "x" -and user.city -eq "y""#,
            &u
        ));
    }

    #[test]
    fn not_with_parentheses() {
        let u = sales();
        assert!(!eval(r#"-not (user.department -eq "Sales")"#, &u));
        assert!(eval(r#"-not (user.department -eq "HR")"#, &u));
        assert!(eval(
            r#"-not (user.city -eq "x" -and user.city -eq "y")"#,
            &u
        ));
        assert!(eval(r#"-not -not user.city -eq "Oslo""#, &u));
    }

    #[test]
    fn parentheses_and_whitespace() {
        let u = sales();
        let rule = "\n  ( ( user.department -eq \"Sales\" )\t-and\r\n(user.city -eq \"Oslo\" -or user.city -eq \"Rome\") )  ";
        assert!(eval(rule, &u));
        assert!(eval(
            r#"(user.department-eq"Sales")-and(user.city-in["Oslo"])"#,
            &u
        ));
    }

    #[test]
    fn long_or_chain_is_flat() {
        let rule = (0..100)
            .map(|i| format!(r#"user.city -eq "c{i}""#))
            .collect::<Vec<_>>()
            .join(" -or ");
        let rule = MembershipRule::parse(&rule).unwrap();
        assert!(rule.matches(&User::default().s("city", "C99")));
        assert!(!rule.matches(&User::default().s("city", "c100")));
    }

    // --- null, booleans, empty strings -------------------------------------

    #[test]
    fn null_checks() {
        let u = sales();
        assert!(eval("user.state -eq null", &u), "missing property");
        assert!(
            eval("user.country -eq null", &u),
            "empty string counts as null"
        );
        assert!(!eval("user.city -eq null", &u));
        assert!(eval("user.city -ne null", &u));
        assert!(!eval("user.state -ne null", &u));
        assert!(!eval("user.country -ne NULL", &u));
        assert!(eval(r#"user.state -eq """#, &u));
    }

    #[test]
    fn null_property_with_positive_string_operators_is_false() {
        let u = sales();
        assert!(!eval(r#"user.state -eq "x""#, &u));
        assert!(!eval(r#"user.state -startsWith """#, &u));
        assert!(!eval(r#"user.state -contains """#, &u));
        assert!(!eval(r#"user.state -match ".*""#, &u));
        assert!(!eval(r#"user.state -in ["", "x"]"#, &u));
    }

    #[test]
    fn null_property_with_negated_operators_is_true() {
        let u = sales();
        assert!(eval(r#"user.state -ne "x""#, &u));
        assert!(eval(r#"user.state -notStartsWith "x""#, &u));
        assert!(eval(r#"user.state -notContains "x""#, &u));
        assert!(eval(r#"user.state -notMatch ".*""#, &u));
        assert!(eval(r#"user.state -notIn ["x"]"#, &u));
    }

    #[test]
    fn booleans() {
        let enabled = sales();
        let disabled = User::default().with("accountEnabled", Value::Bool(false));
        assert!(eval("user.accountEnabled -eq true", &enabled));
        assert!(!eval("user.accountEnabled -eq false", &enabled));
        assert!(eval("user.accountEnabled -eq FALSE", &disabled));
        assert!(eval("user.accountEnabled -ne true", &disabled));
        assert!(eval(r#"user.accountEnabled -eq "true""#, &enabled));
        assert!(eval(r#"user.accountEnabled -eq 'True'"#, &enabled));
        assert!(!eval(r#"user.accountEnabled -eq "yes""#, &enabled));
        assert!(eval("user.accountEnabled -eq null", &User::default()));
    }

    #[test]
    fn boolean_literal_against_string_property_compares_text() {
        let u = User::default().s("department", "TRUE");
        assert!(eval("user.department -eq true", &u));
        assert!(!eval("user.department -eq false", &u));
    }

    // --- string literals ---------------------------------------------------

    #[test]
    fn escapes_and_single_quotes() {
        let u = User::default()
            .s("displayName", r#"Ada "The Countess" L"#)
            .s("streetAddress", r"C:\Road");
        assert!(eval(r#"user.displayName -eq "Ada \"The Countess\" L""#, &u));
        assert!(eval(r#"user.displayName -eq 'Ada "The Countess" L'"#, &u));
        assert!(eval(r#"user.streetAddress -eq "c:\\road""#, &u));
        assert!(eval(r#"user.displayName -contains 'countess\" l'"#, &u));
    }

    // --- rule metadata ---------------------------------------------------

    #[test]
    fn text_properties_and_from_str() {
        let text =
            r#" user.City -eq "Oslo" -or (user.department -eq "x" -and -not user.CITY -in ["y"]) "#;
        let rule: MembershipRule = text.parse().unwrap();
        assert_eq!(rule.text(), text);
        assert_eq!(rule.to_string(), text);
        assert_eq!(rule.properties(), vec!["city", "department"]);
        assert_eq!(rule, MembershipRule::parse(text).unwrap());
    }

    #[test]
    fn every_supported_property_parses() {
        for name in SUPPORTED_PROPERTIES {
            let rule = MembershipRule::parse(&format!("user.{} -ne null", name.to_uppercase()))
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(rule.properties(), vec![*name]);
        }
    }

    #[test]
    fn max_length_is_inclusive() {
        let base = r#"user.city -eq ""#;
        let at_limit = format!("{base}{}\"", "a".repeat(MAX_RULE_CHARS - base.len() - 1));
        assert_eq!(at_limit.chars().count(), MAX_RULE_CHARS);
        assert!(MembershipRule::parse(&at_limit).is_ok());
        let over = format!("{at_limit} ");
        assert_err(&over, 3073, "at most 3072 characters", "3073 characters");
    }

    // --- errors ------------------------------------------------------------

    #[test]
    fn error_empty_rule() {
        assert_err("", 1, "`user.`", "end of rule");
        assert_err("   ", 4, "`user.`", "end of rule");
    }

    #[test]
    fn error_unknown_property() {
        assert_err(
            r#"user.memberOf -eq "x""#,
            6,
            "a supported user property",
            "memberOf",
        );
        assert_err(
            r#"user.city -eq "a" -or user.shoeSize -eq "b""#,
            28,
            "a supported user property",
            "shoeSize",
        );
    }

    #[test]
    fn error_missing_user_prefix() {
        assert_err(r#"department -eq "Sales""#, 1, "`user.`", "department");
        assert_err(
            r#"device.deviceOSType -eq "iOS""#,
            1,
            "`user.`",
            "device.deviceOSType",
        );
        assert_err(r#"user. -eq "x""#, 6, "a supported user property", "-eq");
    }

    #[test]
    fn error_missing_operator() {
        assert_err(
            r#"user.department "Sales""#,
            17,
            "an operator such as -eq",
            r#""Sales""#,
        );
        assert_err(
            "user.department",
            16,
            "an operator such as -eq",
            "end of rule",
        );
        assert_err(
            r#"user.department == "Sales""#,
            17,
            "an operator such as -eq",
            "==",
        );
        assert_err(
            r#"user.department -equals "Sales""#,
            17,
            "an operator such as -eq",
            "-equals",
        );
    }

    #[test]
    fn error_missing_value() {
        assert_err("user.department -eq", 20, "a value", "end of rule");
        assert_err("user.department -eq Sales", 21, "a value", "Sales");
        assert_err(
            r#"user.department -eq -and user.city -eq "x""#,
            21,
            "a value",
            "-and",
        );
    }

    #[test]
    fn error_unclosed_paren() {
        assert_err(r#"(user.city -eq "Oslo""#, 22, "')'", "end of rule");
        assert_err(r#"(user.city -eq "Oslo" ]"#, 23, "')'", "]");
        assert_err("()", 2, "`user.`", ")");
    }

    #[test]
    fn error_unterminated_string() {
        assert_err(r#"user.city -eq "Oslo"#, 15, "a closing \"", "end of rule");
        assert_err("user.city -eq 'Oslo\\'", 15, "a closing '", "end of rule");
    }

    #[test]
    fn error_reports_earlier_mistake_before_unterminated_string() {
        assert_err(r#"city -eq "Oslo"#, 1, "`user.`", "city");
    }

    #[test]
    fn error_trailing_garbage() {
        assert_err(
            r#"user.city -eq "Oslo" user.city -eq "x""#,
            22,
            "end of rule",
            "user.city",
        );
        assert_err(r#"user.city -eq "Oslo")"#, 21, "end of rule", ")");
        assert_err(r#"user.city -eq "Oslo" -and"#, 26, "`user.`", "end of rule");
    }

    #[test]
    fn error_bad_lists() {
        assert_err(
            r#"user.city -in "Oslo""#,
            15,
            r#"a list such as ["a", "b"]"#,
            r#""Oslo""#,
        );
        assert_err(r#"user.city -in ["a" "b"]"#, 20, "',' or ']'", r#""b""#);
        assert_err(r#"user.city -in ["a",]"#, 20, "a value", "]");
        assert_err(r#"user.city -in []"#, 16, "a value", "]");
        assert_err(
            r#"user.city -in ["a", null]"#,
            21,
            "a quoted string",
            "null",
        );
        assert_err(r#"user.city -eq ["a"]"#, 15, "a value", "[");
    }

    #[test]
    fn error_null_where_text_needed() {
        assert_err("user.city -contains null", 21, "a quoted string", "null");
        assert_err("user.city -startsWith null", 23, "a quoted string", "null");
    }

    #[test]
    fn error_invalid_regex() {
        let e = err(r#"user.mail -match "[a-""#);
        assert_eq!(e.position, 18);
        assert_eq!(e.found, r#""[a-""#);
        assert!(
            e.expected.starts_with("a valid regular expression ("),
            "{}",
            e.expected
        );
        assert_err(
            "user.mail -match true",
            18,
            "a quoted regular expression",
            "true",
        );
    }

    #[test]
    fn error_positions_count_characters_not_bytes() {
        assert_err(r#"user.city -eq "Zürich" ~"#, 24, "end of rule", "~");
    }

    /// Item 18: a rule of `MAX_CONDITIONS` conditions is accepted; one more is refused at the
    /// position of the condition over the limit, naming the limit.
    #[test]
    fn error_too_many_conditions() {
        let clause = |i: usize| format!("user.city -match \"c{i}\"");
        let rule = |n: usize| (0..n).map(clause).collect::<Vec<_>>().join(" -or ");
        let ok = rule(MAX_CONDITIONS);
        assert!(
            ok.chars().count() <= MAX_RULE_CHARS,
            "the test rule must fit"
        );
        MembershipRule::parse(&ok).unwrap();
        let over = rule(MAX_CONDITIONS + 1);
        let at = over.rfind("user.city").unwrap() + 1;
        assert_err(
            &over,
            at,
            "at most 100 conditions",
            &format!("condition {}", MAX_CONDITIONS + 1),
        );
        assert_eq!(
            err(&over).to_string(),
            format!(
                "invalid membership rule at position {at}: expected at most 100 conditions, found condition 101"
            )
        );
    }

    /// Item 18: a pattern whose compiled form exceeds the bound is refused at its position;
    /// ordinary patterns, Unicode classes included, compile.
    #[test]
    fn error_regex_over_the_size_bound() {
        let e = err(r#"user.city -match "(\w{50}){50}""#);
        assert_eq!(e.position, 18);
        assert_eq!(
            e.expected,
            "a valid regular expression (a pattern that compiles to at most 1048576 bytes)"
        );
        for fine in [
            r"^\w+@contoso\.com$",
            r"^[A-Z]{2}\d{3,5}$",
            r"(sales|marketing|hr).*\s",
        ] {
            MembershipRule::parse(&format!("user.mail -match \"{fine}\"")).unwrap();
        }
    }

    #[test]
    fn error_excessive_nesting() {
        let deep = format!(
            "{}user.city -eq \"x\"{}",
            "(".repeat(MAX_NESTING + 1),
            ")".repeat(MAX_NESTING + 1)
        );
        assert_err(&deep, MAX_NESTING + 1, "at most 128 levels of nesting", "(");
        let nots = format!("{}user.city -eq \"x\"", "-not ".repeat(MAX_NESTING + 1));
        assert_eq!(err(&nots).position, MAX_NESTING * 5 + 1);

        let ok = format!(
            "{}user.city -eq \"x\"{}",
            "(".repeat(MAX_NESTING),
            ")".repeat(MAX_NESTING)
        );
        assert!(eval(&ok, &User::default().s("city", "X")));
    }

    #[test]
    fn error_display() {
        assert_eq!(
            err("user.city -eq").to_string(),
            "invalid membership rule at position 14: expected a value, found end of rule"
        );
    }
}
