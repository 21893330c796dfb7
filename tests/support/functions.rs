//! `infra/functions.json`: which environment variables each deployed function gets. The CDK stack
//! builds every function's environment from it; the AWS tests build every function's settings from
//! it, so they run each function as deployed.

use serde_json::Value;
use std::collections::BTreeMap;

/// What the deployment puts in a variable (the file's values).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// `tableName`: the table's name.
    TableName,
    /// `eventBusName`: the bus tidings publishes on.
    EventBusName,
    /// `storeConfig`: the store configuration TOML, inline.
    StoreConfig,
    /// `logLevel`: the log filter.
    LogLevel,
    /// `configurationSet:transactional`.
    TransactionalSet,
    /// `configurationSet:marketing`.
    MarketingSet,
    /// `signingKeyParameter`: the SSM SecureString of the signing key.
    SigningKeyParameter,
    /// `guestIdKeyParameter`: the SSM SecureString of the key guest pseudonyms are made with.
    GuestIdKeyParameter,
    /// `unsubscribeUrl`: the unsubscribe Function URL, set only when that function is deployed.
    UnsubscribeUrl,
    /// `shopifyCredentialsParameter`: the SSM parameter of the Shopify credentials, set only with `[shopify]`.
    ShopifyCredentialsParameter,
    /// `deadLetterQueueUrl`: the webhooks function's dead-letter queue.
    DeadLetterQueueUrl,
    /// `alarmGroup`: the EventBridge Scheduler group of the follow-ups' alarms.
    AlarmGroup,
    /// `alarmRoleArn`: the role Scheduler assumes to put a due follow-up on the bus.
    AlarmRoleArn,
    /// `eventBusArn`: the bus's ARN.
    EventBusArn,
    /// `failuresQueueArn`: the failures queue's ARN.
    FailuresQueueArn,
}

impl Source {
    /// Parses one of the file's values.
    pub fn parse(value: &str) -> Option<Self> {
        Some(match value {
            "tableName" => Self::TableName,
            "eventBusName" => Self::EventBusName,
            "storeConfig" => Self::StoreConfig,
            "logLevel" => Self::LogLevel,
            "configurationSet:transactional" => Self::TransactionalSet,
            "configurationSet:marketing" => Self::MarketingSet,
            "signingKeyParameter" => Self::SigningKeyParameter,
            "guestIdKeyParameter" => Self::GuestIdKeyParameter,
            "unsubscribeUrl" => Self::UnsubscribeUrl,
            "shopifyCredentialsParameter" => Self::ShopifyCredentialsParameter,
            "deadLetterQueueUrl" => Self::DeadLetterQueueUrl,
            "alarmGroup" => Self::AlarmGroup,
            "alarmRoleArn" => Self::AlarmRoleArn,
            "eventBusArn" => Self::EventBusArn,
            "failuresQueueArn" => Self::FailuresQueueArn,
            _ => return None,
        })
    }
}

/// One function's environment: variable name → what is put there.
pub type Environment = BTreeMap<String, Source>;

/// The file's text (compiled in: the tests and the stack read the same bytes from the repository).
pub const FUNCTIONS_JSON: &str = include_str!("../../infra/functions.json");

/// Every function of `infra/functions.json` with its environment.
pub fn functions() -> BTreeMap<String, Environment> {
    let file: Value = serde_json::from_str(FUNCTIONS_JSON).expect("infra/functions.json is JSON");
    let functions = file.as_object().expect("infra/functions.json: an object of functions");
    functions
        .iter()
        .map(|(name, function)| {
            let environment = function["environment"]
                .as_object()
                .unwrap_or_else(|| panic!("infra/functions.json: {name}.environment must be an object"))
                .iter()
                .map(|(variable, source)| {
                    let source = source.as_str().and_then(Source::parse).unwrap_or_else(|| {
                        panic!("infra/functions.json: {name}.environment.{variable}: unknown {source}")
                    });
                    (variable.clone(), source)
                })
                .collect();
            (name.clone(), environment)
        })
        .collect()
}

/// The detail types the rule of `function` matches (`detailTypes`), if it has a rule of its own.
pub fn detail_types(function: &str) -> Option<Vec<String>> {
    let file: Value = serde_json::from_str(FUNCTIONS_JSON).expect("infra/functions.json is JSON");
    let types = file.get(function)?.get("detailTypes")?.as_array()?;
    Some(
        types
            .iter()
            .map(|t| t.as_str().expect("a detail type").to_owned())
            .collect(),
    )
}

/// The environment of one function.
pub fn environment(function: &str) -> Environment {
    functions()
        .remove(function)
        .unwrap_or_else(|| panic!("infra/functions.json has no function {function}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;
    use tidings_aws::lambda::env;
    use tidings_core::message::Step;

    #[test]
    fn the_file_names_exactly_the_variables_the_functions_read() {
        let named: BTreeSet<String> = functions().values().flat_map(|e| e.keys().cloned()).collect();
        let read: BTreeSet<String> = env::ALL.iter().map(|v| (*v).to_owned()).collect();
        assert_eq!(named, read, "infra/functions.json vs lambda::env::ALL");
    }

    #[test]
    fn the_file_lists_every_function_of_the_workspace_and_no_other() {
        let listed: BTreeSet<String> = functions().into_keys().collect();
        let dirs: BTreeSet<String> = std::fs::read_dir(crate::repo_root().join("functions"))
            .expect("functions/")
            .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
            .collect();
        assert_eq!(listed, dirs);
    }

    /// Routing is defined once, in `event::routing`; the stack builds its rules from the file.
    #[test]
    fn the_file_routes_each_step_exactly_the_detail_types_of_event_routing() {
        use tidings_core::event::routing;
        for step in routing::STEPS {
            let expected: Vec<String> = routing::detail_types(step).iter().map(|t| (*t).to_owned()).collect();
            assert_eq!(
                detail_types(step.as_str()),
                Some(expected.clone()),
                "infra/functions.json: {}.detailTypes must be {}",
                step.as_str(),
                serde_json::to_string(&expected).expect("json")
            );
        }
        let routed: BTreeSet<String> = functions().into_keys().filter(|f| detail_types(f).is_some()).collect();
        let steps: BTreeSet<String> = routing::STEPS.iter().map(|s| s.as_str().to_owned()).collect();
        assert_eq!(routed, steps, "only the steps and ses-events have rules of their own");
    }

    #[test]
    fn every_function_gets_what_every_function_requires() {
        for (name, environment) in functions() {
            // The shopify and webhooks functions only translate and forward: they have no table.
            let table = (name != "shopify" && name != "webhooks").then_some(env::TABLE_NAME);
            for required in table.into_iter().chain([env::EVENT_BUS_NAME, env::STORE_CONFIG]) {
                assert!(environment.contains_key(required), "{name} lacks {required}");
            }
        }
        for translator in ["shopify", "webhooks"] {
            assert!(
                !environment(translator).contains_key(env::TABLE_NAME),
                "{translator} has no table access"
            );
        }
    }

    /// The step functions: they send.
    const STEPS: [Step; 5] = [
        Step::Customer,
        Step::OrderConfirmed,
        Step::OrderShipped,
        Step::OrderDelivered,
        Step::CartAbandoned,
    ];

    #[test]
    fn every_step_function_is_deployed_alike() {
        let first = environment(STEPS[0].as_str());
        for step in STEPS {
            assert_eq!(environment(step.as_str()), first, "{}", step.as_str());
        }
    }

    /// A step leaves `EmailSent` to SES's report of the send when it sends with a configuration
    /// set (`Mailer::reports_acceptance`); ses-events announces from that report only if it knows
    /// the same sets (`Mailer::reports_sends`).
    #[test]
    fn ses_events_knows_the_configuration_sets_the_steps_send_with() {
        let sets = |function: &str| -> Environment {
            environment(function)
                .into_iter()
                .filter(|(variable, _)| variable.starts_with("SES_CONFIGURATION_SET_"))
                .collect()
        };
        for step in STEPS {
            assert!(!sets(step.as_str()).is_empty(), "{}", step.as_str());
            assert_eq!(sets(Step::SesEvents.as_str()), sets(step.as_str()), "{}", step.as_str());
        }
    }

    #[test]
    fn each_variable_always_holds_the_same_thing() {
        let mut seen: BTreeMap<String, Source> = BTreeMap::new();
        for (name, environment) in functions() {
            for (variable, source) in environment {
                let first = *seen.entry(variable.clone()).or_insert(source);
                assert_eq!(first, source, "{name}.{variable}");
            }
        }
    }
}
