//! `webhooks`: signed webhooks of WooCommerce, AfterShip and EasyPost behind a Function URL,
//! verified, translated into tidings events and put on the tidings bus (docs/webhooks.md).

// The engine's futures over the AWS SDK's nest deeper than rustc's default query depth (128)
// allows in some build orders: a clean CI build hit 130 computing order-confirmed's `main`.
#![recursion_limit = "256"]

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    tidings_aws::webhooks::run().await
}
