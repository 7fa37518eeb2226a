//! A tenant's own products and plans beside Microsoft's (D14).

use crate::audit::{Actor, Audit};
use crate::authz::Action;
use crate::users::bad;
use crate::{App, AppError, Result};
use skuld_domain::catalog::{AppliesTo, Plan, Product};
use skuld_domain::{PlanId, SkuId, Tenant};

impl App {
    /// Adds a product with new plans `(name, friendly name)`; returns it.
    pub async fn add_custom_product(
        &self,
        tenant: &Tenant,
        part_number: &str,
        display_name: &str,
        plans: &[(String, String)],
        actor: &Actor,
    ) -> Result<Product> {
        if !actor.may(Action::ManageSubscriptions) {
            return Err(AppError::forbidden());
        }
        let part = part_number.trim();
        if part.is_empty()
            || !part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(bad("a part number is letters, digits, '_' and '-'"));
        }
        if plans.is_empty() {
            return Err(bad("a product needs at least one service plan"));
        }
        let (mut tx, cx) = self.begin(tenant).await?;
        if cx.catalog.find_product(part).is_some() {
            return Err(bad(format!(
                "a product with part number {part} already exists"
            )));
        }
        let mut ids = Vec::new();
        for (name, friendly) in plans {
            let name = name.trim();
            if name.is_empty() || name.contains(char::is_whitespace) {
                return Err(bad(format!("'{name}' is not a valid service plan name")));
            }
            let plan = Plan {
                id: PlanId::new(),
                name: name.to_string(),
                friendly_name: friendly.trim().to_string(),
            };
            tx.upsert_custom_plan(&plan).await?;
            ids.push(plan.id);
        }
        let product = Product {
            sku_id: SkuId::new(),
            part_number: part.to_string(),
            display_name: display_name.trim().to_string(),
            applies_to: AppliesTo::User,
            plans: ids,
            custom: true,
        };
        tx.upsert_custom_product(&product).await?;
        let mut audit = Audit::new(actor, cx.now);
        audit.push(
            "ProductManagement",
            "Add product",
            "Product",
            product.sku_id.to_string(),
            product.part_number.clone(),
            vec![],
            None,
        );
        tx.insert_audit(&audit.rows).await?;
        tx.commit().await?;
        Ok(product)
    }

    /// The tenant's catalog (Microsoft's plus its own).
    pub async fn tenant_catalog(
        &self,
        tenant: &Tenant,
    ) -> Result<std::sync::Arc<skuld_domain::Catalog>> {
        let mut tx = self.store().read(tenant.id).await?;
        let c = self.catalog(&mut tx).await?;
        tx.commit().await?;
        Ok(c)
    }
}
