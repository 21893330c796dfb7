//! `webhooks`: signed webhooks of WooCommerce, AfterShip and EasyPost behind a Function URL,
//! verified, translated into tidings events and put on the tidings bus (docs/webhooks.md).

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    tidings_aws::webhooks::run().await
}
