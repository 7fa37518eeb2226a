//! `/v1.0/$metadata` and the declared-property model of the served types.
//!
//! `data/graph/metadata.xml` is the slice of Microsoft's Graph v1.0 CSDL that skuld serves, cut
//! by `scripts/gen-metadata.py` (a router test checks it is what the generator makes from the
//! shared CSDL). It is compiled in, answered as `$metadata`, and read once into a [`Model`]:
//! which properties each type declares, their types and nullability, and enum members. `$select`
//! accepts exactly the declared properties, and a property skuld does not store renders as
//! [`absent`] — so the accepted list cannot drift from Microsoft's.
//!
//! The reader is line-based: the generator writes one element per line with attributes in a fixed
//! order, and the slice test keeps the file in that form.

use crate::body::Base;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::OnceLock;

/// The served slice of Microsoft's Graph v1.0 CSDL.
pub const DOCUMENT: &str = include_str!("../../../data/graph/metadata.xml");

/// What kind of type a name declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Entity,
    Complex,
    Enum,
}

/// A structural property as declared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Property {
    pub name: &'static str,
    /// The element type: `Edm.String`, `graph.assignedLicense`, … (without `Collection(…)`).
    pub ty: &'static str,
    pub collection: bool,
    pub nullable: bool,
}

/// An entity, complex or enum type.
#[derive(Debug, Clone)]
pub struct TypeDef {
    pub name: &'static str,
    pub kind: Kind,
    pub base: Option<&'static str>,
    /// Declared on this type (not its bases).
    pub properties: Vec<Property>,
    pub navigation: Vec<&'static str>,
    /// Enum members.
    pub members: Vec<&'static str>,
}

/// Every type of the slice, by local name (`user`, `assignedLicense`, `operationResult`).
#[derive(Debug)]
pub struct Model {
    types: HashMap<&'static str, TypeDef>,
}

fn attr(line: &'static str, name: &str) -> Option<&'static str> {
    let key = format!(" {name}=\"");
    let i = line.find(&key)? + key.len();
    let rest = &line[i..];
    rest.find('"').map(|j| &rest[..j])
}

/// `graph.user` / `microsoft.graph.user` → `user`; `Edm.String` stays.
pub fn local(ty: &str) -> &str {
    ty.strip_prefix("graph.")
        .or_else(|| ty.strip_prefix("microsoft.graph."))
        .unwrap_or(ty)
}

impl Model {
    fn parse(doc: &'static str) -> Model {
        let mut types = HashMap::new();
        let mut cur: Option<TypeDef> = None;
        for line in doc.lines() {
            let t = line.trim_start();
            let kind = if t.starts_with("<EntityType ") {
                Some(Kind::Entity)
            } else if t.starts_with("<ComplexType ") {
                Some(Kind::Complex)
            } else if t.starts_with("<EnumType ") {
                Some(Kind::Enum)
            } else {
                None
            };
            if let Some(kind) = kind {
                cur = Some(TypeDef {
                    name: attr(t, "Name").unwrap_or(""),
                    kind,
                    base: attr(t, "BaseType").map(local),
                    properties: vec![],
                    navigation: vec![],
                    members: vec![],
                });
                continue;
            }
            if t.starts_with("</EntityType>")
                || t.starts_with("</ComplexType>")
                || t.starts_with("</EnumType>")
            {
                if let Some(d) = cur.take() {
                    types.insert(d.name, d);
                }
                continue;
            }
            let Some(d) = cur.as_mut() else { continue };
            if t.starts_with("<Property ") {
                let raw = attr(t, "Type").unwrap_or("Edm.String");
                let (ty, collection) = match raw
                    .strip_prefix("Collection(")
                    .and_then(|s| s.strip_suffix(')'))
                {
                    Some(inner) => (inner, true),
                    None => (raw, false),
                };
                d.properties.push(Property {
                    name: attr(t, "Name").unwrap_or(""),
                    ty,
                    collection,
                    nullable: attr(t, "Nullable") != Some("false"),
                });
            } else if t.starts_with("<NavigationProperty ") {
                d.navigation.push(attr(t, "Name").unwrap_or(""));
            } else if t.starts_with("<Member ") {
                d.members.push(attr(t, "Name").unwrap_or(""));
            }
        }
        Model { types }
    }

    /// The type named `name` (`user`, `graph.user`, `microsoft.graph.user`).
    pub fn get(&self, name: &str) -> Option<&TypeDef> {
        self.types.get(local(name))
    }

    /// Every structural property of `ty`, its base types' first (`id`, `deletedDateTime`, …).
    pub fn properties(&self, ty: &str) -> Vec<&Property> {
        let mut chain = Vec::new();
        let mut t = self.get(ty);
        while let Some(d) = t {
            chain.push(d);
            t = d.base.and_then(|b| self.get(b));
        }
        chain
            .iter()
            .rev()
            .flat_map(|d| d.properties.iter())
            .collect()
    }

    /// The property `name` of `ty` (case-insensitive, as Graph matches `$select`).
    pub fn property(&self, ty: &str, name: &str) -> Option<&Property> {
        self.properties(ty)
            .into_iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
    }

    /// Every type, in no particular order.
    pub fn types(&self) -> impl Iterator<Item = &TypeDef> {
        self.types.values()
    }
}

/// The model of [`DOCUMENT`], read once.
pub fn model() -> &'static Model {
    static MODEL: OnceLock<Model> = OnceLock::new();
    MODEL.get_or_init(|| Model::parse(DOCUMENT))
}

/// Graph's spelling of property `name` (case-insensitive) declared on type `ty`.
pub fn declared(ty: &str, name: &str) -> Option<&'static str> {
    model().property(ty, name).map(|p| p.name)
}

/// The value of a declared property skuld does not store: `[]` for a collection, `null` when
/// nullable, else the type's zero value as Graph renders it (`0001-01-01T00:00:00Z` for a
/// non-nullable date such as `birthday`).
pub fn absent(ty: &str, name: &str) -> Value {
    let Some(p) = model().property(ty, name) else {
        return Value::Null;
    };
    if p.collection {
        return Value::Array(vec![]);
    }
    if p.nullable {
        return Value::Null;
    }
    match p.ty {
        "Edm.Boolean" => Value::Bool(false),
        "Edm.Int16" | "Edm.Int32" | "Edm.Int64" | "Edm.Byte" => Value::from(0),
        "Edm.Double" | "Edm.Single" | "Edm.Decimal" => Value::from(0.0),
        "Edm.DateTimeOffset" => Value::String("0001-01-01T00:00:00Z".into()),
        "Edm.Guid" => Value::String("00000000-0000-0000-0000-000000000000".into()),
        "Edm.String" => Value::String(String::new()),
        other => match model().get(other) {
            Some(TypeDef {
                kind: Kind::Enum,
                members,
                ..
            }) => members
                .first()
                .map(|m| Value::String((*m).to_string()))
                .unwrap_or(Value::Null),
            Some(TypeDef {
                kind: Kind::Complex,
                ..
            }) => {
                let props = model().properties(other);
                Value::Object(
                    props
                        .iter()
                        .map(|q| (q.name.to_string(), absent(other, q.name)))
                        .collect(),
                )
            }
            _ => Value::Null,
        },
    }
}

/// `GET /v1.0/$metadata`: the CSDL slice as `application/xml`.
pub async fn document(_base: Base) -> Response {
    let mut r = (StatusCode::OK, DOCUMENT).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/xml"),
    );
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_model_reads_the_served_types() {
        let m = model();
        let user: Vec<_> = m.properties("user").iter().map(|p| p.name).collect();
        assert_eq!(&user[..2], &["id", "deletedDateTime"]);
        for p in [
            "onPremisesDistinguishedName",
            "onPremisesSamAccountName",
            "passwordPolicies",
            "identities",
            "employeeHireDate",
            "assignedLicenses",
        ] {
            assert!(user.contains(&p), "{p}");
        }
        let lic = m.property("user", "ASSIGNEDLICENSES").unwrap();
        assert!(lic.collection && !lic.nullable);
        assert_eq!(lic.ty, "graph.assignedLicense");
        assert_eq!(
            m.get("operationResult").unwrap().members,
            ["success", "failure", "timeout", "unknownFutureValue"]
        );
        assert_eq!(absent("user", "identities"), Value::Array(vec![]));
        assert_eq!(absent("user", "passwordPolicies"), Value::Null);
        assert_eq!(absent("user", "birthday"), "0001-01-01T00:00:00Z");
        assert_eq!(absent("user", "deviceEnrollmentLimit"), 0);
    }
}
