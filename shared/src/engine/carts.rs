//! Carts: a newer cart state schedules (or reschedules) the abandoned-cart reminders.

use super::{Engine, EngineError, Outcome, hours};
use crate::domain::Cart;
use crate::message::{MessageKey, MessageKind};
use crate::ports::{Bus, CartRecord, Clock, Mailer, Store, Subject};
use jiff::Timestamp;

impl<S: Store, M: Mailer, B: Bus, C: Clock> Engine<S, M, B, C> {
    /// `CartUpdated`/`CartAbandoned`: a newer cart state (re)schedules the reminders.
    pub(super) async fn cart_updated(&self, cart: &Cart, at: Timestamp) -> Result<Vec<Outcome>, EngineError> {
        let store = &self.ports.store;
        let mut out = Vec::new();
        if self
            .upsert_customer(&cart.customer, at, false, Some(&cart.id), &mut out)
            .await?
            .is_none()
        {
            return Ok(out);
        }
        let known = store.cart(&cart.id).await?;
        if let Some(known) = &known {
            if known.cart.updated_at > cart.updated_at {
                out.push(Outcome::Ignored {
                    reason: format!(
                        "cart {} update of {} is older than the one kept",
                        cart.id, cart.updated_at
                    ),
                });
                return Ok(out);
            }
        }
        let ordered_at = known
            .and_then(|k| k.ordered_at)
            .filter(|ordered| *ordered >= cart.updated_at);
        let saved = store
            .save_cart(&CartRecord {
                cart: cart.clone(),
                ordered_at,
            })
            .await?;
        if !saved {
            out.push(Outcome::Ignored {
                reason: format!("cart {} changed again meanwhile; the newer version is kept", cart.id),
            });
            return Ok(out);
        }
        if cart.items.is_empty() {
            return Ok(out);
        }
        let timing = &self.config.timing;
        let version = cart.updated_at.to_string();
        for (nth, delay) in [
            (1u8, timing.cart_reminder_1_after_hours),
            (2, timing.cart_reminder_2_after_hours),
        ] {
            let key = MessageKey::new(
                MessageKind::CartReminder,
                cart.id.as_str(),
                &[&version, &nth.to_string()],
            );
            // Bought before this update was handled (it came late): its reminders say so.
            if ordered_at.is_some() {
                out.push(Outcome::Skipped {
                    key,
                    reason: crate::skip::SkipReason::CartBought,
                });
                continue;
            }
            let subject = Subject::Cart {
                cart_id: cart.id.clone(),
                updated_at: cart.updated_at,
                nth,
            };
            let mut follow_up = self.follow_up(key, &cart.customer.id, subject, at + hours(delay));
            follow_up.expires_at = at + hours(timing.cart_reminder_expiry_hours);
            out.extend(self.schedule(follow_up).await?);
        }
        Ok(out)
    }
}
