//! `$filter` (graph-api.md §9.2): a lexer and a recursive-descent parser to an untyped
//! expression, then a lowering pass that checks it against what Graph supports for the resource
//! (default or advanced query) and builds the domain [`Filter`].

use super::props::{self, Prop, Sup};
use super::{errors, Resource};
use crate::GraphError;
use skuld_domain::query::{Cmp, FieldKind, Filter, PlanCond, TextMatch, Value};
use skuld_domain::{PlanId, SkuId, Timestamp};
use uuid::Uuid;

/// Longest `$filter` accepted, in bytes.
const MAX_LEN: usize = 8192;
/// Deepest nesting of parentheses, `not`, lambdas and calls.
const MAX_DEPTH: usize = 32;

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    LParen,
    RParen,
    Comma,
    Slash,
    Colon,
    Ident(String),
    Str(String),
    Guid(Uuid),
    Time(Timestamp),
    Int(i64),
    Decimal(String),
}

struct Lexer<'a> {
    text: &'a str,
    pos: usize,
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '$'
}

fn is_guid(s: &str) -> bool {
    s.len() == 36
        && s.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

impl<'a> Lexer<'a> {
    fn syntax(&self, at: usize) -> GraphError {
        errors::syntax_char(self.text, at)
    }

    /// The next token and where it starts, or None at the end.
    fn next(&mut self) -> Result<Option<(Tok, usize)>, GraphError> {
        let text = self.text;
        let rest = &text[self.pos..];
        let trimmed = rest.trim_start_matches([' ', '\t', '\r', '\n']);
        self.pos += rest.len() - trimmed.len();
        let start = self.pos;
        let Some(c) = trimmed.chars().next() else {
            return Ok(None);
        };
        let single = match c {
            '(' => Some(Tok::LParen),
            ')' => Some(Tok::RParen),
            ',' => Some(Tok::Comma),
            '/' => Some(Tok::Slash),
            ':' => Some(Tok::Colon),
            _ => None,
        };
        if let Some(t) = single {
            self.pos += 1;
            return Ok(Some((t, start)));
        }
        if c == '\'' {
            let mut out = String::new();
            let mut chars = trimmed.char_indices().skip(1).peekable();
            while let Some((i, ch)) = chars.next() {
                if ch == '\'' {
                    if matches!(chars.peek(), Some((_, '\''))) {
                        chars.next();
                        out.push('\'');
                        continue;
                    }
                    self.pos = start + i + 1;
                    return Ok(Some((Tok::Str(out), start)));
                }
                out.push(ch);
            }
            return Err(errors::unterminated(text, start));
        }
        // A GUID, then a DateTimeOffset, both bare.
        let word_end = trimmed
            .char_indices()
            .find(|(_, ch)| {
                !(ch.is_ascii_alphanumeric() || matches!(ch, '-' | ':' | '.' | '+' | '_' | '$'))
            })
            .map(|(i, _)| i)
            .unwrap_or(trimmed.len());
        let word = &trimmed[..word_end];
        if let Some(g) = trimmed.get(..36).filter(|g| is_guid(g)) {
            let after = trimmed[36..].chars().next();
            if !after.is_some_and(is_ident_char) {
                self.pos += 36;
                let u = Uuid::parse_str(g).map_err(|_| self.syntax(start))?;
                return Ok(Some((Tok::Guid(u), start)));
            }
        }
        let b = trimmed.as_bytes();
        if b.len() >= 10
            && b[..4].iter().all(u8::is_ascii_digit)
            && b[4] == b'-'
            && b[5..7].iter().all(u8::is_ascii_digit)
            && b[7] == b'-'
            && b[8..10].iter().all(u8::is_ascii_digit)
        {
            self.pos += word.len();
            let lit = if word.len() == 10 {
                format!("{word}T00:00:00Z")
            } else {
                word.to_string()
            };
            return match Timestamp::parse_rfc3339(&lit) {
                Some(t) => Ok(Some((Tok::Time(t), start))),
                None => Err(errors::bad_datetime(word, text, start)),
            };
        }
        if c.is_ascii_digit()
            || (c == '-' && trimmed[1..].starts_with(|d: char| d.is_ascii_digit()))
        {
            let digits_end = trimmed
                .char_indices()
                .skip(1)
                .find(|(_, ch)| !(ch.is_ascii_digit() || *ch == '.'))
                .map(|(i, _)| i)
                .unwrap_or(trimmed.len());
            let num = &trimmed[..digits_end];
            if trimmed[digits_end..].starts_with(is_ident_char) {
                return Err(self.syntax(start + digits_end));
            }
            self.pos += num.len();
            if num.contains('.') {
                return Ok(Some((Tok::Decimal(num.to_string()), start)));
            }
            return match num.parse::<i64>() {
                Ok(n) => Ok(Some((Tok::Int(n), start))),
                Err(_) => Ok(Some((Tok::Decimal(num.to_string()), start))),
            };
        }
        if c.is_ascii_alphabetic() || c == '_' || c == '$' {
            let end = trimmed
                .char_indices()
                .find(|(_, ch)| !is_ident_char(*ch))
                .map(|(i, _)| i)
                .unwrap_or(trimmed.len());
            self.pos += end;
            return Ok(Some((Tok::Ident(trimmed[..end].to_string()), start)));
        }
        Err(self.syntax(start))
    }
}

/// A literal of the filter language.
#[derive(Debug, Clone, PartialEq)]
enum Lit {
    Str(String),
    Guid(Uuid),
    Time(Timestamp),
    Int(i64),
    Decimal(String),
    Bool(bool),
    Null,
}

impl Lit {
    fn edm(&self) -> &'static str {
        match self {
            Lit::Str(_) => "Edm.String",
            Lit::Guid(_) => "Edm.Guid",
            Lit::Time(_) => "Edm.DateTimeOffset",
            Lit::Int(n) if i32::try_from(*n).is_ok() => "Edm.Int32",
            Lit::Int(_) => "Edm.Int64",
            Lit::Decimal(_) => "Edm.Decimal",
            Lit::Bool(_) => "Edm.Boolean",
            Lit::Null => "null",
        }
    }
}

/// The untyped expression tree.
#[derive(Debug, Clone, PartialEq)]
enum Expr {
    Or(Vec<Expr>),
    And(Vec<Expr>),
    Not(Box<Expr>),
    Cmp(Box<Expr>, Cmp, Box<Expr>),
    In(Box<Expr>, Vec<Expr>),
    Call(String, Vec<Expr>),
    Path(Vec<String>),
    /// `path/any(var: body)`; `all` is true for `all`. `body` None for `any()`.
    Lambda {
        path: Vec<String>,
        all: bool,
        var: String,
        body: Option<Box<Expr>>,
    },
    Lit(Lit),
}

struct Parser<'a> {
    text: &'a str,
    toks: Vec<(Tok, usize)>,
    i: usize,
    depth: usize,
}

fn kw(t: Option<&Tok>, word: &str) -> bool {
    matches!(t, Some(Tok::Ident(s)) if s.eq_ignore_ascii_case(word))
}

impl<'a> Parser<'a> {
    fn new(text: &'a str) -> Result<Self, GraphError> {
        let mut lx = Lexer { text, pos: 0 };
        let mut toks = Vec::new();
        while let Some(t) = lx.next()? {
            toks.push(t);
        }
        Ok(Self {
            text,
            toks,
            i: 0,
            depth: 0,
        })
    }
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.i).map(|(t, _)| t)
    }
    fn peek2(&self) -> Option<&Tok> {
        self.toks.get(self.i + 1).map(|(t, _)| t)
    }
    fn pos(&self) -> usize {
        self.toks
            .get(self.i)
            .map(|(_, p)| *p)
            .unwrap_or(self.text.len())
    }
    fn bump(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.i).map(|(t, _)| t.clone());
        self.i += 1;
        t
    }
    fn err(&self) -> GraphError {
        if self.i >= self.toks.len() {
            errors::expression_expected(self.text, self.text.len())
        } else {
            errors::syntax_at(self.text, self.pos())
        }
    }
    fn expect(&mut self, t: Tok) -> Result<(), GraphError> {
        if self.peek() == Some(&t) {
            self.i += 1;
            Ok(())
        } else {
            Err(self.err())
        }
    }
    fn enter(&mut self) -> Result<(), GraphError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(errors::too_complex());
        }
        Ok(())
    }

    fn parse(mut self) -> Result<Expr, GraphError> {
        if self.toks.is_empty() {
            return Err(errors::expression_expected(self.text, 0));
        }
        let e = self.or()?;
        if self.i < self.toks.len() {
            return Err(errors::syntax_at(self.text, self.pos()));
        }
        Ok(e)
    }

    fn or(&mut self) -> Result<Expr, GraphError> {
        let mut v = vec![self.and()?];
        while kw(self.peek(), "or") {
            self.i += 1;
            v.push(self.and()?);
        }
        Ok(if v.len() == 1 {
            v.pop().unwrap_or(Expr::Or(Vec::new()))
        } else {
            Expr::Or(v)
        })
    }

    fn and(&mut self) -> Result<Expr, GraphError> {
        let mut v = vec![self.unary()?];
        while kw(self.peek(), "and") {
            self.i += 1;
            v.push(self.unary()?);
        }
        Ok(if v.len() == 1 {
            v.pop().unwrap_or(Expr::And(Vec::new()))
        } else {
            Expr::And(v)
        })
    }

    /// `not` applies to the comparison that follows (`not a eq b` is `not (a eq b)`).
    fn unary(&mut self) -> Result<Expr, GraphError> {
        if kw(self.peek(), "not") && self.peek2().is_some() {
            self.i += 1;
            self.enter()?;
            let e = self.unary()?;
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(e)));
        }
        self.cmp()
    }

    fn cmp(&mut self) -> Result<Expr, GraphError> {
        let left = self.primary()?;
        let op = match self.peek() {
            Some(Tok::Ident(s)) => match s.to_ascii_lowercase().as_str() {
                "eq" => Some(Cmp::Eq),
                "ne" => Some(Cmp::Ne),
                "lt" => Some(Cmp::Lt),
                "le" => Some(Cmp::Le),
                "gt" => Some(Cmp::Gt),
                "ge" => Some(Cmp::Ge),
                "in" => {
                    self.i += 1;
                    self.expect(Tok::LParen)?;
                    let mut items = Vec::new();
                    loop {
                        items.push(self.primary()?);
                        match self.bump() {
                            Some(Tok::Comma) => continue,
                            Some(Tok::RParen) => break,
                            _ => {
                                self.i -= 1;
                                return Err(self.err());
                            }
                        }
                    }
                    return Ok(Expr::In(Box::new(left), items));
                }
                _ => None,
            },
            _ => None,
        };
        match op {
            Some(op) => {
                self.i += 1;
                let right = self.primary()?;
                Ok(Expr::Cmp(Box::new(left), op, Box::new(right)))
            }
            None => Ok(left),
        }
    }

    fn primary(&mut self) -> Result<Expr, GraphError> {
        let Some(t) = self.bump() else {
            return Err(self.err());
        };
        match t {
            Tok::LParen => {
                self.enter()?;
                let e = self.or()?;
                self.expect(Tok::RParen)?;
                self.depth -= 1;
                Ok(e)
            }
            Tok::Str(s) => Ok(Expr::Lit(Lit::Str(s))),
            Tok::Guid(u) => Ok(Expr::Lit(Lit::Guid(u))),
            Tok::Time(t) => Ok(Expr::Lit(Lit::Time(t))),
            Tok::Int(n) => Ok(Expr::Lit(Lit::Int(n))),
            Tok::Decimal(d) => Ok(Expr::Lit(Lit::Decimal(d))),
            Tok::Ident(name) => {
                match name.to_ascii_lowercase().as_str() {
                    "true" => return Ok(Expr::Lit(Lit::Bool(true))),
                    "false" => return Ok(Expr::Lit(Lit::Bool(false))),
                    "null" => return Ok(Expr::Lit(Lit::Null)),
                    _ => {}
                }
                if self.peek() == Some(&Tok::LParen) {
                    self.i += 1;
                    self.enter()?;
                    let mut args = Vec::new();
                    if self.peek() == Some(&Tok::RParen) {
                        self.i += 1;
                    } else {
                        loop {
                            args.push(self.or()?);
                            match self.bump() {
                                Some(Tok::Comma) => continue,
                                Some(Tok::RParen) => break,
                                _ => {
                                    self.i -= 1;
                                    return Err(self.err());
                                }
                            }
                        }
                    }
                    self.depth -= 1;
                    return Ok(Expr::Call(name, args));
                }
                let mut path = vec![name];
                while self.peek() == Some(&Tok::Slash) {
                    self.i += 1;
                    let Some(Tok::Ident(seg)) = self.bump() else {
                        self.i -= 1;
                        return Err(self.err());
                    };
                    let lower = seg.to_ascii_lowercase();
                    if (lower == "any" || lower == "all") && self.peek() == Some(&Tok::LParen) {
                        self.i += 1;
                        self.enter()?;
                        let (var, body) = if self.peek() == Some(&Tok::RParen) {
                            (String::new(), None)
                        } else {
                            let Some(Tok::Ident(var)) = self.bump() else {
                                self.i -= 1;
                                return Err(self.err());
                            };
                            self.expect(Tok::Colon)?;
                            (var, Some(Box::new(self.or()?)))
                        };
                        self.expect(Tok::RParen)?;
                        self.depth -= 1;
                        return Ok(Expr::Lambda {
                            path,
                            all: lower == "all",
                            var,
                            body,
                        });
                    }
                    path.push(seg);
                }
                Ok(Expr::Path(path))
            }
            _ => {
                self.i -= 1;
                Err(self.err())
            }
        }
    }
}

/// Parses `text` as a `$filter` of `resource`; `advanced` is whether this is an advanced query
/// (`ConsistencyLevel: eventual` and `$count=true`).
pub fn parse_filter(text: &str, resource: Resource, advanced: bool) -> Result<Filter, GraphError> {
    if text.len() > MAX_LEN {
        return Err(errors::too_complex());
    }
    let expr = Parser::new(text)?.parse()?;
    Lower { resource, advanced }.lower(&expr)
}

struct Lower {
    resource: Resource,
    advanced: bool,
}

fn flip(op: Cmp) -> Cmp {
    match op {
        Cmp::Lt => Cmp::Gt,
        Cmp::Le => Cmp::Ge,
        Cmp::Gt => Cmp::Lt,
        Cmp::Ge => Cmp::Le,
        o => o,
    }
}

fn edm_of(kind: FieldKind) -> &'static str {
    match kind {
        FieldKind::Id | FieldKind::Text => "Edm.String",
        FieldKind::Bool => "Edm.Boolean",
        FieldKind::Time => "Edm.DateTimeOffset",
    }
}

impl Lower {
    fn ok(&self, s: Sup) -> bool {
        s == Sup::Yes || (s == Sup::Advanced && self.advanced)
    }
    fn unsupported(&self, prop: &str) -> GraphError {
        errors::unsupported_property(prop, self.resource)
    }
    /// The error for a name that is no property of ours: unsupported if Graph has it, else
    /// not found.
    fn unknown(&self, name: &str) -> GraphError {
        match props::known(self.resource, name) {
            Some(canonical) => self.unsupported(canonical),
            None => errors::no_such_property(name, self.resource),
        }
    }

    fn lower(&self, e: &Expr) -> Result<Filter, GraphError> {
        match e {
            Expr::Or(v) => Ok(Filter::Or(
                v.iter().map(|x| self.lower(x)).collect::<Result<_, _>>()?,
            )),
            Expr::And(v) => Ok(Filter::And(
                v.iter().map(|x| self.lower(x)).collect::<Result<_, _>>()?,
            )),
            Expr::Not(x) => {
                if !self.advanced {
                    return Err(errors::advanced_operator("not"));
                }
                Ok(Filter::Not(Box::new(self.lower(x)?)))
            }
            Expr::Cmp(l, op, r) => match (&**l, &**r) {
                (Expr::Path(p), Expr::Lit(v)) => self.compare(p, *op, v),
                (Expr::Lit(v), Expr::Path(p)) => self.compare(p, flip(*op), v),
                _ => Err(errors::not_boolean()),
            },
            Expr::In(l, items) => {
                let Expr::Path(p) = &**l else {
                    return Err(errors::not_boolean());
                };
                let mut alts = Vec::with_capacity(items.len());
                for it in items {
                    let Expr::Lit(v) = it else {
                        return Err(errors::not_boolean());
                    };
                    alts.push(self.compare(p, Cmp::Eq, v)?);
                }
                Ok(merge_in(alts))
            }
            Expr::Call(name, args) => self.call(name, args),
            Expr::Lambda {
                path,
                all,
                var,
                body,
            } => self.lambda(path, *all, var, body.as_deref()),
            Expr::Path(_) | Expr::Lit(_) => Err(errors::not_boolean()),
        }
    }

    fn prop(&self, path: &[String]) -> Result<&'static Prop, GraphError> {
        let [name] = path else {
            let first = path.first().map(String::as_str).unwrap_or("");
            return Err(self.unknown(first));
        };
        props::filterable(self.resource, name).ok_or_else(|| self.unknown(name))
    }

    fn compare(&self, path: &[String], op: Cmp, v: &Lit) -> Result<Filter, GraphError> {
        if op == Cmp::Ne && !self.advanced {
            return Err(errors::not_equals());
        }
        // assignedLicenses/$count eq 0
        if let [coll, count] = path {
            if count == "$count" {
                let Some(canonical) = props::known(self.resource, coll) else {
                    return Err(errors::no_such_property(coll, self.resource));
                };
                if canonical != "assignedLicenses" || !self.advanced {
                    return Err(self.unsupported(canonical));
                }
                return match v {
                    Lit::Int(n) if *n >= 0 => Ok(Filter::LicenseCount { op, n: *n }),
                    other => Err(errors::incompatible("Edm.Int32", other.edm(), op)),
                };
            }
        }
        if let [name] = path {
            if self.resource == Resource::Group
                && name.eq_ignore_ascii_case("hasMembersWithLicenseErrors")
            {
                return match (op, v) {
                    (Cmp::Eq, Lit::Bool(b)) => Ok(Filter::HasMembersWithLicenseErrors(*b)),
                    (Cmp::Ne, Lit::Bool(b)) => Ok(Filter::HasMembersWithLicenseErrors(!*b)),
                    (Cmp::Eq, Lit::Null) => Ok(Filter::Const(false)),
                    (Cmp::Ne, Lit::Null) => Ok(Filter::Const(true)),
                    (Cmp::Eq | Cmp::Ne, other) => {
                        Err(errors::incompatible("Edm.Boolean", other.edm(), op))
                    }
                    _ => Err(self.unsupported("hasMembersWithLicenseErrors")),
                };
            }
        }
        let p = self.prop(path)?;
        let supported = match (op, v) {
            (Cmp::Eq | Cmp::Ne, Lit::Null) => self.ok(p.null),
            (Cmp::Eq | Cmp::Ne, _) => self.ok(p.eq),
            (_, Lit::Null) => false,
            _ => self.ok(p.range),
        };
        if !supported {
            return Err(self.unsupported(p.name));
        }
        let value = self.value(p, op, v)?;
        Ok(Filter::Compare {
            field: p.field,
            op,
            value,
        })
    }

    /// The literal as a value of the property's type.
    fn value(&self, p: &Prop, op: Cmp, v: &Lit) -> Result<Value, GraphError> {
        let kind = p.field.kind();
        let value = match (kind, v) {
            (_, Lit::Null) => Value::Null,
            (FieldKind::Text, Lit::Str(s)) => Value::Str(s.clone()),
            (FieldKind::Id, Lit::Str(s)) => match Uuid::parse_str(s) {
                Ok(u) => Value::Guid(u),
                Err(_) => Value::Str(s.clone()),
            },
            (FieldKind::Id, Lit::Guid(u)) => Value::Guid(*u),
            (FieldKind::Bool, Lit::Bool(b)) => Value::Bool(*b),
            (FieldKind::Time, Lit::Time(t)) => Value::Time(*t),
            (k, other) => return Err(errors::incompatible(edm_of(k), other.edm(), op)),
        };
        Ok(value)
    }

    fn text_arg(&self, args: &[Expr], func: &str) -> Result<(&'static Prop, String), GraphError> {
        match args {
            [Expr::Path(p), Expr::Lit(Lit::Str(s))] => Ok((self.prop(p)?, s.clone())),
            [Expr::Path(p), Expr::Lit(other)] => {
                let prop = self.prop(p)?;
                Err(errors::no_function_signature(
                    func,
                    edm_of(prop.field.kind()),
                    other.edm(),
                ))
            }
            _ => Err(errors::function_args(func)),
        }
    }

    fn call(&self, name: &str, args: &[Expr]) -> Result<Filter, GraphError> {
        match name.to_ascii_lowercase().as_str() {
            "startswith" => {
                let (p, prefix) = self.text_arg(args, "startswith")?;
                if !self.ok(p.starts) || !matches!(p.field.kind(), FieldKind::Text) {
                    return Err(self.unsupported(p.name));
                }
                Ok(Filter::StartsWith {
                    field: p.field,
                    prefix,
                })
            }
            "endswith" => {
                if !self.advanced {
                    return Err(errors::advanced_operator("endsWith"));
                }
                let (p, suffix) = self.text_arg(args, "endswith")?;
                if p.ends != Sup::Advanced {
                    return Err(self.unsupported(p.name));
                }
                Ok(Filter::EndsWith {
                    field: p.field,
                    suffix,
                })
            }
            "contains" | "substringof" | "indexof" | "tolower" | "toupper" | "trim" | "length"
            | "concat" | "substring" => Err(errors::function_unsupported(name)),
            _ => Err(errors::unknown_function(name)),
        }
    }

    fn lambda(
        &self,
        path: &[String],
        all: bool,
        var: &str,
        body: Option<&Expr>,
    ) -> Result<Filter, GraphError> {
        let [coll] = path else {
            let first = path.first().map(String::as_str).unwrap_or("");
            return Err(self.unknown(first));
        };
        let Some(canonical) = props::known(self.resource, coll) else {
            return Err(errors::no_such_property(coll, self.resource));
        };
        let unsupported = || self.unsupported(canonical);
        let Some(body) = body else {
            return Err(unsupported());
        };
        if all {
            return Err(unsupported());
        }
        match (self.resource, canonical) {
            (_, "assignedLicenses") => {
                let mut skus = Vec::new();
                self.sku_alternatives(var, body, &mut skus)
                    .ok_or_else(unsupported)??;
                skus.sort();
                skus.dedup();
                Ok(Filter::HasLicense(skus))
            }
            (Resource::User | Resource::DeletedUser, "assignedPlans") => {
                if !self.advanced {
                    return Err(unsupported());
                }
                self.plan_filter(var, body).ok_or_else(unsupported)?
            }
            (Resource::Group, "groupTypes") => {
                let mut types = Vec::new();
                self.type_alternatives(var, body, &mut types)
                    .ok_or_else(unsupported)?;
                Ok(merge_in(types.into_iter().map(Filter::GroupType).collect()))
            }
            _ => Err(unsupported()),
        }
    }

    /// `x/skuId eq G`, `x/skuId in (G, …)` and their `or`s. None when the body has another
    /// shape; Some(Err) for a literal that is not a GUID.
    fn sku_alternatives(
        &self,
        var: &str,
        e: &Expr,
        out: &mut Vec<SkuId>,
    ) -> Option<Result<(), GraphError>> {
        let is_sku = |p: &Expr| matches!(p, Expr::Path(v) if v.len() == 2 && v[0] == var && v[1].eq_ignore_ascii_case("skuId"));
        let lits: Vec<&Lit> = match e {
            Expr::Or(v) => {
                for x in v {
                    if let Err(err) = self.sku_alternatives(var, x, out)? {
                        return Some(Err(err));
                    }
                }
                return Some(Ok(()));
            }
            Expr::Cmp(l, Cmp::Eq, r) if is_sku(l) => match &**r {
                Expr::Lit(v) => vec![v],
                _ => return None,
            },
            Expr::In(l, items) if is_sku(l) => {
                let mut v = Vec::new();
                for it in items {
                    let Expr::Lit(x) = it else { return None };
                    v.push(x);
                }
                v
            }
            _ => return None,
        };
        for l in lits {
            match l {
                Lit::Guid(u) => out.push(SkuId(*u)),
                Lit::Str(s) => match SkuId::parse(s) {
                    Ok(id) => out.push(id),
                    Err(_) => return Some(Err(GraphError::bad_guid(s))),
                },
                other => return Some(Err(errors::incompatible("Edm.Guid", other.edm(), Cmp::Eq))),
            }
        }
        Some(Ok(()))
    }

    /// `c eq 'Unified'`, `c in ('Unified', …)` and their `or`s.
    fn type_alternatives(&self, var: &str, e: &Expr, out: &mut Vec<String>) -> Option<()> {
        let is_var = |p: &Expr| matches!(p, Expr::Path(v) if v.len() == 1 && v[0] == var);
        match e {
            Expr::Or(v) => {
                for x in v {
                    self.type_alternatives(var, x, out)?;
                }
            }
            Expr::Cmp(l, Cmp::Eq, r) if is_var(l) => match &**r {
                Expr::Lit(Lit::Str(s)) => out.push(s.clone()),
                _ => return None,
            },
            Expr::In(l, items) if is_var(l) => {
                for it in items {
                    let Expr::Lit(Lit::Str(s)) = it else {
                        return None;
                    };
                    out.push(s.clone());
                }
            }
            _ => return None,
        }
        Some(())
    }

    /// `p/servicePlanId eq G and p/capabilityStatus eq 'Enabled' and p/service eq 'x'` (any
    /// subset, `startswith(p/service, 'x')` too), and `or`s of such.
    fn plan_filter(&self, var: &str, e: &Expr) -> Option<Result<Filter, GraphError>> {
        if let Expr::Or(v) = e {
            let mut alts = Vec::new();
            for x in v {
                match self.plan_filter(var, x)? {
                    Ok(f) => alts.push(f),
                    Err(err) => return Some(Err(err)),
                }
            }
            return Some(Ok(Filter::Or(alts)));
        }
        let parts: Vec<&Expr> = match e {
            Expr::And(v) => v.iter().collect(),
            other => vec![other],
        };
        let mut cond = PlanCond::default();
        for part in parts {
            let member = |p: &Expr| match p {
                Expr::Path(v) if v.len() == 2 && v[0] == var => Some(v[1].to_ascii_lowercase()),
                _ => None,
            };
            match part {
                Expr::Cmp(l, Cmp::Eq, r) => {
                    let m = member(l)?;
                    let Expr::Lit(lit) = &**r else { return None };
                    match (m.as_str(), lit) {
                        ("serviceplanid", Lit::Guid(u)) if cond.plan.is_none() => {
                            cond.plan = Some(PlanId(*u))
                        }
                        ("serviceplanid", Lit::Str(s)) if cond.plan.is_none() => {
                            match PlanId::parse(s) {
                                Ok(p) => cond.plan = Some(p),
                                Err(_) => return Some(Err(GraphError::bad_guid(s))),
                            }
                        }
                        ("capabilitystatus", Lit::Str(s)) if cond.capability_status.is_none() => {
                            cond.capability_status = Some(s.clone())
                        }
                        ("service", Lit::Str(s)) if cond.service.is_none() => {
                            cond.service = Some(TextMatch::Eq(s.clone()))
                        }
                        _ => return None,
                    }
                }
                Expr::Call(name, args) if name.eq_ignore_ascii_case("startswith") => {
                    let [p, Expr::Lit(Lit::Str(s))] = args.as_slice() else {
                        return None;
                    };
                    if member(p)? != "service" || cond.service.is_some() {
                        return None;
                    }
                    cond.service = Some(TextMatch::StartsWith(s.clone()));
                }
                _ => return None,
            }
        }
        Some(Ok(Filter::HasPlan(cond)))
    }
}

/// One alternative stays itself; several are an `Or`.
fn merge_in(mut alts: Vec<Filter>) -> Filter {
    if alts.len() == 1 {
        alts.pop().unwrap_or(Filter::Const(false))
    } else {
        Filter::Or(alts)
    }
}
