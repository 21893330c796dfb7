//! Each coupon tidings mails, created as a Shopify discount code before the email goes:
//! `discountCodeBasicCreate` (percentage, fixed amount) or `discountCodeFreeShippingCreate`, one use,
//! for that customer only, ending when the coupon does. The code is the idempotency key: when
//! Shopify says it is taken, the discount is read back and must be this coupon's.

use super::{AdminError, ShopifyAdmin};
use serde_json::{Value, json};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use tidings_core::domain::Currency;
use tidings_core::event::{CouponIssued, CouponType};
use tidings_core::ports::{DiscountError, Discounts};

/// The shop's discount codes.
pub struct ShopifyDiscounts {
    admin: Arc<ShopifyAdmin>,
    /// Fixed amounts and minimums are in this currency (Shopify converts them at checkout).
    shop_currency: Currency,
}

const BASIC: &str = "mutation discountCodeBasicCreate($basicCodeDiscount: DiscountCodeBasicInput!) { discountCodeBasicCreate(basicCodeDiscount: $basicCodeDiscount) { codeDiscountNode { id } userErrors { field code message } } }";
const FREE_SHIPPING: &str = "mutation discountCodeFreeShippingCreate($freeShippingCodeDiscount: DiscountCodeFreeShippingInput!) { discountCodeFreeShippingCreate(freeShippingCodeDiscount: $freeShippingCodeDiscount) { codeDiscountNode { id } userErrors { field code message } } }";
const BY_CODE: &str = "query codeDiscountNodeByCode($code: String!) { codeDiscountNodeByCode(code: $code) { id codeDiscount { __typename ... on DiscountCodeBasic { title } ... on DiscountCodeFreeShipping { title } } } }";

impl ShopifyDiscounts {
    /// Discounts of the shop whose money is in `shop_currency`.
    pub fn new(admin: Arc<ShopifyAdmin>, shop_currency: Currency) -> Self {
        Self { admin, shop_currency }
    }

    /// The mutation, its variables' name, and the discount's input, for one coupon.
    fn input(&self, coupon: &CouponIssued) -> Result<(&'static str, &'static str, Value), DiscountError> {
        let money = |minor: u64| decimal(minor, self.shop_currency);
        if coupon.currency != self.shop_currency
            && (coupon.coupon_type == CouponType::Fixed || coupon.min_subtotal.is_some())
        {
            // Shopify reads fixed amounts and minimums in the shop's currency.
            return Err(DiscountError::Refused(format!(
                "a fixed amount or minimum in {} in a shop that sells in {}",
                coupon.currency.code(),
                self.shop_currency.code()
            )));
        }
        let mut input = json!({
            "title": title(coupon),
            "code": coupon.code,
            // An hour back: a customer whose clock is ahead can use the code on arrival.
            "startsAt": (jiff::Timestamp::now() - jiff::SignedDuration::from_hours(1)).to_string(),
            "endsAt": coupon.expires_at.to_string(),
            "usageLimit": 1,
            "appliesOncePerCustomer": true,
            "context": context(coupon),
        });
        if let Some(minimum) = coupon.min_subtotal {
            input["minimumRequirement"] = json!({ "subtotal": { "greaterThanOrEqualToSubtotal": money(minimum) } });
        }
        let value = match coupon.coupon_type {
            CouponType::FreeShipping => {
                input["destination"] = json!({ "all": true });
                return Ok((FREE_SHIPPING, "freeShippingCodeDiscount", input));
            }
            CouponType::Percent => {
                let percent = coupon.percent_off.unwrap_or_default().min(100);
                json!({ "percentage": f64::from(percent) / 100.0 })
            }
            CouponType::Fixed => json!({ "discountAmount": {
                "amount": money(coupon.amount_off.unwrap_or_default()),
                "appliesOnEachItem": false,
            }}),
        };
        input["customerGets"] = json!({ "value": value, "items": { "all": true } });
        Ok((BASIC, "basicCodeDiscount", input))
    }

    async fn create_once(&self, coupon: &CouponIssued) -> Result<(), DiscountError> {
        let (mutation, name, input) = self.input(coupon)?;
        let data = self
            .admin
            .graphql(mutation, json!({ name: input }))
            .await
            .map_err(from_admin)?;
        let field = if name == "basicCodeDiscount" {
            "discountCodeBasicCreate"
        } else {
            "discountCodeFreeShippingCreate"
        };
        let errors = data
            .pointer(&format!("/{field}/userErrors"))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if errors.is_empty() {
            return Ok(());
        }
        let taken = errors
            .iter()
            .any(|e| e.get("code").and_then(Value::as_str) == Some("TAKEN"));
        if taken {
            return self.check_existing(coupon).await;
        }
        let codes: Vec<String> = errors
            .iter()
            .map(|e| e.get("code").and_then(Value::as_str).unwrap_or("?").to_owned())
            .collect();
        Err(DiscountError::Refused(format!("userErrors: {}", codes.join(", "))))
    }

    /// A code Shopify already has: ours from an earlier attempt (its answer lost), or another
    /// discount's, which this email must not carry.
    async fn check_existing(&self, coupon: &CouponIssued) -> Result<(), DiscountError> {
        let data = self
            .admin
            .graphql(BY_CODE, json!({ "code": coupon.code }))
            .await
            .map_err(from_admin)?;
        let found = data
            .pointer("/codeDiscountNodeByCode/codeDiscount/title")
            .and_then(Value::as_str);
        if found == Some(title(coupon).as_str()) {
            return Ok(());
        }
        Err(DiscountError::Refused("the code exists as another discount".into()))
    }
}

impl Discounts for ShopifyDiscounts {
    fn create<'a>(
        &'a self,
        coupon: &'a CouponIssued,
    ) -> Pin<Box<dyn Future<Output = Result<(), DiscountError>> + Send + 'a>> {
        Box::pin(self.create_once(coupon))
    }
}

/// The discount's title in the Shopify admin: which message it came with, its code, and a digest
/// of its message key (so a discount read back by code is recognised as this message's, not as
/// another message's whose code happens to be the same).
fn title(coupon: &CouponIssued) -> String {
    let message = tidings_core::signing::digest_hex(&["discount-title", coupon.message_key.as_str()], 16);
    format!("tidings {} {} {message}", coupon.message_kind.as_str(), coupon.code)
}

/// For the customer it was mailed to; a guest has no Shopify customer to name, so its one use
/// is the limit.
fn context(coupon: &CouponIssued) -> Value {
    let id = coupon.customer_id.as_str();
    if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) {
        json!({ "customers": { "add": [format!("gid://shopify/Customer/{id}")] } })
    } else {
        json!({ "all": "ALL" })
    }
}

/// Minor units as Shopify's decimal text (`1000` USD → `"10.00"`, `1000` JPY → `"1000"`).
pub(crate) fn decimal(minor: u64, currency: Currency) -> String {
    let exponent = u32::from(currency.exponent());
    if exponent == 0 {
        return minor.to_string();
    }
    let scale = 10u64.pow(exponent);
    format!("{}.{:0width$}", minor / scale, minor % scale, width = exponent as usize)
}

fn from_admin(error: AdminError) -> DiscountError {
    match error {
        AdminError::Refused(reason) => DiscountError::Refused(reason),
        // Credentials the merchant can fix, and throttling, are worth waiting for.
        other => DiscountError::Unavailable(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::decimal;
    use tidings_core::domain::Currency;

    #[test]
    fn minor_units_become_shopify_decimals() {
        let c = |code| Currency::parse(code).expect("currency");
        assert_eq!(decimal(1000, c("USD")), "10.00");
        assert_eq!(decimal(5, c("EUR")), "0.05");
        assert_eq!(decimal(10000, c("KRW")), "10000");
        assert_eq!(decimal(1234, c("BHD")), "1.234");
    }
}
