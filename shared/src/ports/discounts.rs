//! Discount codes in the store's own checkout: a code tidings mails must exist there before the
//! email carrying it is sent (Shopify's Admin API in Lambda; nothing locally, where the
//! `CouponIssued` event is the whole story).

use crate::event::CouponIssued;
use std::future::Future;
use std::pin::Pin;

/// Why a code could not be made to exist.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub enum DiscountError {
    /// Throttled, a network failure, a server error, credentials not readable: try again later.
    #[error("the store cannot create the code now: {0}")]
    Unavailable(String),
    /// The store refused the code for good (a code of that name that is another discount, a
    /// rule the store cannot express): retrying cannot help.
    #[error("the store refused the code: {0}")]
    Refused(String),
}

/// The store's discount codes.
pub trait Discounts: Send + Sync {
    /// Makes `coupon` exist in the store, once: the code is the idempotency key, so asking again
    /// for a code that exists with the same terms succeeds without creating a second discount.
    fn create<'a>(
        &'a self,
        coupon: &'a CouponIssued,
    ) -> Pin<Box<dyn Future<Output = Result<(), DiscountError>> + Send + 'a>>;
}
