//! `shopify`: Shopify's webhooks from the store's partner event bus, translated into tidings
//! events and put on the tidings bus (docs/shopify.md).

// The engine's futures over the AWS SDK's nest deeper than rustc's default query depth (128)
// allows in some build orders: a clean CI build hit 130 computing order-confirmed's `main`.
#![recursion_limit = "256"]

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    tidings_aws::shopify::webhooks::run().await
}
