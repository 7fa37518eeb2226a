//! `$search` (graph-api.md §9.1): quoted `"property:text"` clauses combined with `AND`, `OR`
//! (adjacent clauses are an `AND`) and parentheses.

use super::props;
use super::{errors, Resource};
use crate::GraphError;
use skuld_domain::query::Search;

const MAX_LEN: usize = 4096;
const MAX_DEPTH: usize = 16;

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Clause(String),
    And,
    Or,
    LParen,
    RParen,
}

fn lex(text: &str) -> Result<Vec<(Tok, usize)>, GraphError> {
    let mut out = Vec::new();
    let mut it = text.char_indices().peekable();
    while let Some((i, c)) = it.next() {
        match c {
            ' ' | '\t' | '\r' | '\n' => {}
            '(' => out.push((Tok::LParen, i)),
            ')' => out.push((Tok::RParen, i)),
            '"' => {
                let mut s = String::new();
                let mut closed = false;
                while let Some((_, ch)) = it.next() {
                    match ch {
                        '"' => {
                            closed = true;
                            break;
                        }
                        '\\' => match it.next() {
                            Some((_, e)) => s.push(e),
                            None => break,
                        },
                        other => s.push(other),
                    }
                }
                if !closed {
                    return Err(errors::unterminated(text, i));
                }
                out.push((Tok::Clause(s), i));
            }
            c if c.is_ascii_alphabetic() => {
                let mut end = text.len();
                while let Some(&(j, ch)) = it.peek() {
                    if !ch.is_ascii_alphabetic() {
                        end = j;
                        break;
                    }
                    it.next();
                }
                match &text[i..end] {
                    w if w.eq_ignore_ascii_case("AND") => out.push((Tok::And, i)),
                    w if w.eq_ignore_ascii_case("OR") => out.push((Tok::Or, i)),
                    _ => return Err(errors::syntax_char(text, end.min(text.len()))),
                }
            }
            _ => return Err(errors::syntax_char(text, i)),
        }
    }
    Ok(out)
}

struct Parser<'a> {
    text: &'a str,
    toks: Vec<(Tok, usize)>,
    i: usize,
    depth: usize,
    resource: Resource,
}

impl Parser<'_> {
    fn err(&self) -> GraphError {
        match self.toks.get(self.i) {
            Some((_, p)) => errors::syntax_at(self.text, *p),
            None => errors::expression_expected(self.text, self.text.len()),
        }
    }
    fn or(&mut self) -> Result<Search, GraphError> {
        let mut v = vec![self.and()?];
        while matches!(self.toks.get(self.i), Some((Tok::Or, _))) {
            self.i += 1;
            v.push(self.and()?);
        }
        Ok(if v.len() == 1 {
            v.pop().unwrap_or(Search::Or(Vec::new()))
        } else {
            Search::Or(v)
        })
    }
    fn and(&mut self) -> Result<Search, GraphError> {
        let mut v = vec![self.atom()?];
        loop {
            match self.toks.get(self.i) {
                Some((Tok::And, _)) => {
                    self.i += 1;
                    v.push(self.atom()?);
                }
                Some((Tok::Clause(_) | Tok::LParen, _)) => v.push(self.atom()?),
                _ => break,
            }
        }
        Ok(if v.len() == 1 {
            v.pop().unwrap_or(Search::And(Vec::new()))
        } else {
            Search::And(v)
        })
    }
    fn atom(&mut self) -> Result<Search, GraphError> {
        match self.toks.get(self.i).cloned() {
            Some((Tok::LParen, _)) => {
                self.i += 1;
                self.depth += 1;
                if self.depth > MAX_DEPTH {
                    return Err(errors::too_complex());
                }
                let s = self.or()?;
                if !matches!(self.toks.get(self.i), Some((Tok::RParen, _))) {
                    return Err(self.err());
                }
                self.i += 1;
                self.depth -= 1;
                Ok(s)
            }
            Some((Tok::Clause(c), _)) => {
                self.i += 1;
                term(&c, self.resource)
            }
            _ => Err(self.err()),
        }
    }
}

fn term(clause: &str, resource: Resource) -> Result<Search, GraphError> {
    let Some((prop, text)) = clause.split_once(':') else {
        return Err(GraphError::bad_request(format!(
            "Invalid $search clause \"{clause}\": use \"property:text\"."
        )));
    };
    let (prop, text) = (prop.trim(), text.trim());
    let Some(p) = props::filterable(resource, prop).filter(|p| p.search) else {
        return Err(match props::known(resource, prop) {
            Some(canonical) => errors::search_unsupported(canonical, resource),
            None => errors::no_such_property(prop, resource),
        });
    };
    if text.is_empty() {
        return Err(GraphError::bad_request(format!(
            "Invalid $search clause \"{clause}\": use \"property:text\"."
        )));
    }
    Ok(Search::Term {
        field: p.field,
        text: text.to_string(),
    })
}

/// Parses a `$search` value.
pub fn parse_search(text: &str, resource: Resource) -> Result<Search, GraphError> {
    if text.len() > MAX_LEN {
        return Err(errors::too_complex());
    }
    let toks = lex(text)?;
    if toks.is_empty() {
        return Err(errors::expression_expected(text, 0));
    }
    let mut p = Parser {
        text,
        toks,
        i: 0,
        depth: 0,
        resource,
    };
    let s = p.or()?;
    if p.i < p.toks.len() {
        return Err(p.err());
    }
    Ok(s)
}
