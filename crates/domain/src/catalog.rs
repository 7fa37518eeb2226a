//! The product catalog: products (SKUs), their service plans, and the rules between plans
//! (conflicting families, dependencies, location prohibitions). Microsoft's catalog ships inside
//! the binary (`data/catalog/`); a tenant may add its own products and plans (D14). All rules are
//! data, not code (D11).

use crate::ids::{PlanId, SkuId};
use crate::values::UsageLocation;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

/// Graph `appliesTo`: only `User` products can be assigned to users.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum AppliesTo {
    #[default]
    User,
    Company,
}

impl AppliesTo {
    pub fn as_str(&self) -> &'static str {
        match self {
            AppliesTo::User => "User",
            AppliesTo::Company => "Company",
        }
    }
}

/// A service plan (an app inside a product).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub id: PlanId,
    /// Graph `servicePlanName`, e.g. `EXCHANGE_S_ENTERPRISE`.
    pub name: String,
    pub friendly_name: String,
}

/// A purchasable product (SKU).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Product {
    pub sku_id: SkuId,
    /// Graph `skuPartNumber`, e.g. `ENTERPRISEPACK`.
    pub part_number: String,
    pub display_name: String,
    pub applies_to: AppliesTo,
    pub plans: Vec<PlanId>,
    /// Defined by the tenant rather than shipped with skuld.
    pub custom: bool,
}

/// Plans of one family conflict with each other when their ranks differ, unless the family is
/// stackable (D11, rulebook §4.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Family {
    pub name: String,
    pub stackable: bool,
    pub members: Vec<(PlanId, u32)>,
}

/// An error in the catalog data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("catalog data, {file} line {line}: {message}")]
pub struct CatalogError {
    pub file: &'static str,
    pub line: usize,
    pub message: String,
}

/// Products, plans and plan rules.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    products: HashMap<SkuId, Product>,
    plans: HashMap<PlanId, Plan>,
    families: Vec<Family>,
    /// plan → (family index, rank)
    plan_family: HashMap<PlanId, (usize, u32)>,
    /// plan → alternatives, one of which must be enabled too
    requires: HashMap<PlanId, Vec<PlanId>>,
    prohibited: HashMap<PlanId, Vec<UsageLocation>>,
}

const PRODUCTS_TSV: &str = include_str!("../../../data/catalog/products.tsv");
const PLANS_TSV: &str = include_str!("../../../data/catalog/plans.tsv");
const PRODUCT_PLANS_TSV: &str = include_str!("../../../data/catalog/product_plans.tsv");
const RULES_TXT: &str = include_str!("../../../data/catalog/rules.txt");

impl Catalog {
    /// Microsoft's catalog as shipped with skuld, parsed once.
    pub fn microsoft() -> Arc<Catalog> {
        static CAT: OnceLock<Arc<Catalog>> = OnceLock::new();
        CAT.get_or_init(|| {
            // The data is compiled in and checked by a test, so a failure here is a build defect.
            Arc::new(
                Catalog::parse(PRODUCTS_TSV, PLANS_TSV, PRODUCT_PLANS_TSV, RULES_TXT)
                    .expect("embedded catalog data is valid"),
            )
        })
        .clone()
    }

    pub fn parse(
        products: &str,
        plans: &str,
        product_plans: &str,
        rules: &str,
    ) -> Result<Catalog, CatalogError> {
        let mut cat = Catalog::default();
        for (line, cols) in tsv_rows(plans) {
            let err = |m: String| CatalogError {
                file: "plans.tsv",
                line,
                message: m,
            };
            let [id, name, friendly] = cols[..] else {
                return Err(err(format!("expected 3 columns, found {}", cols.len())));
            };
            let id = PlanId::parse(id).map_err(|e| err(e.to_string()))?;
            cat.plans.insert(
                id,
                Plan {
                    id,
                    name: name.to_string(),
                    friendly_name: friendly.to_string(),
                },
            );
        }
        for (line, cols) in tsv_rows(products) {
            let err = |m: String| CatalogError {
                file: "products.tsv",
                line,
                message: m,
            };
            let [id, part, name, applies] = cols[..] else {
                return Err(err(format!("expected 4 columns, found {}", cols.len())));
            };
            let sku_id = SkuId::parse(id).map_err(|e| err(e.to_string()))?;
            let applies_to = match applies {
                "User" => AppliesTo::User,
                "Company" => AppliesTo::Company,
                other => return Err(err(format!("unknown appliesTo '{other}'"))),
            };
            cat.products.insert(
                sku_id,
                Product {
                    sku_id,
                    part_number: part.to_string(),
                    display_name: name.to_string(),
                    applies_to,
                    plans: Vec::new(),
                    custom: false,
                },
            );
        }
        for (line, cols) in tsv_rows(product_plans) {
            let err = |m: String| CatalogError {
                file: "product_plans.tsv",
                line,
                message: m,
            };
            let [sku, plan] = cols[..] else {
                return Err(err(format!("expected 2 columns, found {}", cols.len())));
            };
            let sku = SkuId::parse(sku).map_err(|e| err(e.to_string()))?;
            let plan = PlanId::parse(plan).map_err(|e| err(e.to_string()))?;
            if !cat.plans.contains_key(&plan) {
                return Err(err(format!("unknown plan {plan}")));
            }
            let p = cat
                .products
                .get_mut(&sku)
                .ok_or_else(|| err(format!("unknown product {sku}")))?;
            p.plans.push(plan);
        }
        for p in cat.products.values_mut() {
            p.plans.sort();
            p.plans.dedup();
        }
        cat.parse_rules(rules)?;
        Ok(cat)
    }

    fn parse_rules(&mut self, text: &str) -> Result<(), CatalogError> {
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let err = |m: String| CatalogError {
                file: "rules.txt",
                line,
                message: m,
            };
            let body = raw.split('#').next().unwrap_or("").trim();
            if body.is_empty() {
                continue;
            }
            let mut toks = body.split_whitespace();
            let kind = toks.next().unwrap_or_default();
            let plan_ref = |tok: &str| -> Result<PlanId, CatalogError> {
                // `NAME:guid`; the name is for readers and must agree with the plan table.
                let (name, id) = tok.rsplit_once(':').unwrap_or(("", tok));
                let id = PlanId::parse(id).map_err(|e| err(e.to_string()))?;
                match self.plans.get(&id) {
                    Some(p) if name.is_empty() || p.name == name => Ok(id),
                    Some(p) => Err(err(format!("plan {id} is named {}, not {name}", p.name))),
                    None => Err(err(format!("unknown plan {id}"))),
                }
            };
            match kind {
                "family" => {
                    let name = toks
                        .next()
                        .ok_or_else(|| err("family needs a name".into()))?;
                    let stackable = match toks.next() {
                        Some("stackable") => true,
                        Some("exclusive") => false,
                        _ => return Err(err("family needs 'stackable' or 'exclusive'".into())),
                    };
                    let mut members = Vec::new();
                    for t in toks {
                        let (p, rank) = t
                            .rsplit_once('=')
                            .ok_or_else(|| err(format!("'{t}' needs =rank")))?;
                        let rank: u32 = rank
                            .parse()
                            .map_err(|_| err(format!("bad rank in '{t}'")))?;
                        members.push((plan_ref(p)?, rank));
                    }
                    self.add_family(Family {
                        name: name.to_string(),
                        stackable,
                        members,
                    });
                }
                "depends" => {
                    let plan = plan_ref(
                        toks.next()
                            .ok_or_else(|| err("depends needs a plan".into()))?,
                    )?;
                    let alts = toks.map(plan_ref).collect::<Result<Vec<_>, _>>()?;
                    if alts.is_empty() {
                        return Err(err("depends needs at least one required plan".into()));
                    }
                    self.requires.entry(plan).or_default().extend(alts);
                }
                "prohibit" => {
                    let plan = plan_ref(
                        toks.next()
                            .ok_or_else(|| err("prohibit needs a plan".into()))?,
                    )?;
                    let locs = toks
                        .map(|t| UsageLocation::parse(t).map_err(|e| err(e.to_string())))
                        .collect::<Result<Vec<_>, _>>()?;
                    self.prohibited.entry(plan).or_default().extend(locs);
                }
                other => return Err(err(format!("unknown rule kind '{other}'"))),
            }
        }
        Ok(())
    }

    fn add_family(&mut self, f: Family) {
        let idx = self.families.len();
        for (p, r) in &f.members {
            self.plan_family.insert(*p, (idx, *r));
        }
        self.families.push(f);
    }

    /// Adds (or replaces) a tenant's own plan (D14).
    pub fn add_plan(&mut self, plan: Plan) {
        self.plans.insert(plan.id, plan);
    }

    /// Adds (or replaces) a tenant's own product (D14). Its plans must exist.
    pub fn add_product(&mut self, product: Product) -> Result<(), String> {
        if let Some(missing) = product.plans.iter().find(|p| !self.plans.contains_key(p)) {
            return Err(format!("unknown service plan {missing}"));
        }
        self.products.insert(product.sku_id, product);
        Ok(())
    }

    pub fn product(&self, sku: &SkuId) -> Option<&Product> {
        self.products.get(sku)
    }
    pub fn plan(&self, id: &PlanId) -> Option<&Plan> {
        self.plans.get(id)
    }
    pub fn products(&self) -> impl Iterator<Item = &Product> {
        self.products.values()
    }
    pub fn plans(&self) -> impl Iterator<Item = &Plan> {
        self.plans.values()
    }
    pub fn families(&self) -> &[Family] {
        &self.families
    }
    /// Finds a product by skuId or part number (case-insensitive).
    pub fn find_product(&self, key: &str) -> Option<&Product> {
        if let Ok(id) = SkuId::parse(key) {
            return self.products.get(&id);
        }
        let k = key.trim();
        let mut hits: Vec<&Product> = self
            .products
            .values()
            .filter(|p| p.part_number.eq_ignore_ascii_case(k))
            .collect();
        // MCOPSTN5 maps to two GUIDs in Microsoft's table; pick one deterministically.
        hits.sort_by_key(|p| p.sku_id);
        hits.into_iter().next()
    }
    /// Finds a plan of a product by planId, plan name or friendly name (case-insensitive).
    pub fn find_plan_in(&self, product: &Product, key: &str) -> Option<PlanId> {
        if let Ok(id) = PlanId::parse(key) {
            return product.plans.contains(&id).then_some(id);
        }
        product.plans.iter().copied().find(|id| {
            self.plans.get(id).is_some_and(|p| {
                p.name.eq_ignore_ascii_case(key.trim())
                    || p.friendly_name.eq_ignore_ascii_case(key.trim())
            })
        })
    }
    pub fn plan_name(&self, id: &PlanId) -> String {
        self.plans
            .get(id)
            .map(|p| p.name.clone())
            .unwrap_or_else(|| id.to_string())
    }
    pub fn family_of(&self, plan: &PlanId) -> Option<(&Family, u32)> {
        self.plan_family
            .get(plan)
            .map(|(i, r)| (&self.families[*i], *r))
    }
    /// Plans of which at least one must be enabled beside `plan`; empty when it has no dependency.
    pub fn requirements(&self, plan: &PlanId) -> &[PlanId] {
        self.requires.get(plan).map(Vec::as_slice).unwrap_or(&[])
    }
    pub fn is_prohibited(&self, plan: &PlanId, loc: UsageLocation) -> bool {
        self.prohibited.get(plan).is_some_and(|l| l.contains(&loc))
    }
}

fn tsv_rows(text: &str) -> impl Iterator<Item = (usize, Vec<&str>)> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
        .map(|(i, l)| (i + 1, l.split('\t').collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_microsoft_catalog_parses_and_has_the_well_known_products() {
        let c = Catalog::microsoft();
        let e3 = c.find_product("ENTERPRISEPACK").unwrap();
        assert_eq!(
            e3.sku_id.to_string(),
            "6fd2c87f-b296-42f0-b197-1e91e994b900"
        );
        assert!(e3.plans.len() > 20);
        assert!(c
            .find_product("6FD2C87F-B296-42F0-B197-1E91E994B900")
            .is_some());
        let exo2 = c.find_plan_in(e3, "EXCHANGE_S_ENTERPRISE").unwrap();
        assert_eq!(exo2.to_string(), "efb87545-963c-4e0d-99df-69c6916d9eb0");
        assert!(c.products().count() > 500);
    }

    #[test]
    fn c4_audio_conferencing_requires_skype_plan_2() {
        let c = Catalog::microsoft();
        let mcomeetadv = PlanId::parse("3e26ee1f-8a5f-4d52-aee2-b81ce45c8f40").unwrap();
        let mcostandard = PlanId::parse("0feaeb32-d00e-4d66-bd5a-43b5b83db82c").unwrap();
        assert_eq!(c.requirements(&mcomeetadv), &[mcostandard]);
    }

    #[test]
    fn c2_sharepoint_family_is_exclusive_and_c3_exchange_is_stackable() {
        let c = Catalog::microsoft();
        let sp1 = PlanId::parse("c7699d2e-19aa-44de-8edf-1736da088ca1").unwrap();
        let exo1 = PlanId::parse("9aaf7827-d63c-4b61-89c3-182f06f82e5c").unwrap();
        assert!(!c.family_of(&sp1).unwrap().0.stackable);
        assert!(c.family_of(&exo1).unwrap().0.stackable);
    }

    #[test]
    fn rules_naming_a_plan_wrongly_are_refused() {
        let plans = "#h\n9aaf7827-d63c-4b61-89c3-182f06f82e5c\tEXCHANGE_S_STANDARD\tExchange Online (Plan 1)\n";
        let e = Catalog::parse("", plans, "", "depends WRONG:9aaf7827-d63c-4b61-89c3-182f06f82e5c X:9aaf7827-d63c-4b61-89c3-182f06f82e5c")
            .unwrap_err();
        assert_eq!(e.line, 1);
        assert!(e.message.contains("is named EXCHANGE_S_STANDARD"), "{e}");
    }
}
