//! Discount codes in the store's own checkout: a code tidings mails must exist there before the
//! email carrying it is sent (Shopify's Admin API or WooCommerce's REST API in Lambda; nothing
//! locally, where the `CouponIssued` event is the whole story).

use crate::domain::EmailAddress;
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

    /// [`Discounts::create`] for a code mailed to `to`: a store that restricts a code to an
    /// address (WooCommerce's `email_restrictions`, the one way it has to name a guest) needs it.
    fn create_for<'a>(
        &'a self,
        coupon: &'a CouponIssued,
        to: &'a EmailAddress,
    ) -> Pin<Box<dyn Future<Output = Result<(), DiscountError>> + Send + 'a>> {
        let _ = to;
        self.create(coupon)
    }
}
