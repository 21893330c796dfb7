//! The keys as deployed: SSM SecureStrings, read with one call on a function's first event rather
//! than at init; a key that cannot be read fails that event (Lambda retries it), never the init,
//! and never falls back to another key.

use super::*;
use tidings_aws::lambda::FirstUse;

/// Deletes one of the two parameters the Keys resource makes.
async fn delete_parameter(aws: &AwsTest, name: &str) {
    aws_sdk_ssm::Client::new(&aws.sdk)
        .delete_parameter()
        .name(name)
        .send()
        .await
        .expect("parameter deleted");
}

#[tokio::test]
async fn a_missing_key_fails_the_first_event_and_the_next_one_reads_it_once_it_exists() {
    let aws = aws_test().await;
    delete_parameter(&aws, &aws.guest_id_key_parameter).await;
    let function = FirstUse::new(
        aws.sdk.clone(),
        aws.settings(Step::OrderConfirmed.as_str(), StoreConfig::sample()),
    );

    let error = function.engine().await.err().expect("no engine without its key");
    let message = error.to_string();
    assert!(
        message.contains(&aws.guest_id_key_parameter) && message.contains("does not exist"),
        "the error names the parameter: {message}"
    );
    assert!(!message.contains("aws-test-signing-key"), "never a value: {message}");

    aws_sdk_ssm::Client::new(&aws.sdk)
        .put_parameter()
        .name(&aws.guest_id_key_parameter)
        .value("aws-test-guest-id-key-0123456789abcdefghijklmnop")
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .send()
        .await
        .expect("parameter put");
    let before = aws.moto.requests();
    let engine = function.engine().await.expect("built on the next event");
    let first = engine as *const _;
    assert_eq!(aws.moto.requests() - before, 1, "both keys in one GetParameters call");

    let before = aws.moto.requests();
    let again = function.engine().await.expect("still built");
    assert_eq!(again as *const _, first, "built once");
    assert_eq!(aws.moto.requests(), before, "a warm instance reads no key");
}

#[tokio::test]
async fn a_signing_key_without_current_is_refused_naming_its_parameter() {
    let aws = aws_test().await;
    aws_sdk_ssm::Client::new(&aws.sdk)
        .put_parameter()
        .name(&aws.signing_key_parameter)
        .value(r#"{"previous": "aws-test-signing-key-0123456789abcdefghijklmnop"}"#)
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .overwrite(true)
        .send()
        .await
        .expect("parameter put");
    let function = FirstUse::new(
        aws.sdk.clone(),
        aws.settings(Step::Customer.as_str(), StoreConfig::sample()),
    );

    let message = function.engine().await.err().expect("no current key").to_string();
    assert!(
        message.contains(&aws.signing_key_parameter) && message.contains("\"current\""),
        "{message}"
    );
    assert!(!message.contains("aws-test-signing-key"), "never a value: {message}");
}
