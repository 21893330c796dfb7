//! Scenario tests: event streams in, emails and emitted events out.

mod attention;
mod carts;
mod compliance;
mod consent;
mod contract;
mod coupons_first;
mod exactly_once;
mod examples;
mod faults;
mod holdouts;
mod integrity;
mod lifecycle;
mod mime;
mod orders;
mod preview;
mod promises;
mod properties;
mod rendering;
mod report;
mod shadow;
mod shipments;
mod shopify;
mod timing;
mod webhooks;
