//! `shopify`: Shopify's webhooks from the store's partner event bus, translated into tidings
//! events and put on the tidings bus (docs/shopify.md).

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    tidings_aws::shopify::webhooks::run().await
}
