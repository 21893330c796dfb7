//! Customers as events describe them: signups, updates and the customer embedded in orders and
//! carts, merged by event time, checked against erasures and the address's opt-out.

use super::kinds::Moment;
use super::{Engine, EngineError, EventCustomer, KnownRecords, Outcome, erased_before, merge_customer};
use crate::domain::CartId;
use crate::message::{MessageKey, MessageKind};
use crate::ports::{Bus, Changes, Clock, CustomerRecord, FollowUp, Mailer, Store, Subject};
use jiff::Timestamp;

impl<S: Store, M: Mailer, B: Bus, C: Clock> Engine<S, M, B, C> {
    /// A signup: the welcome (or the double opt-in request) at once, the offer later, and a
    /// win-back for a signup who never orders.
    pub(super) async fn signed_up(
        &self,
        customer: &crate::domain::Customer,
        at: Timestamp,
    ) -> Result<Vec<Outcome>, EngineError> {
        let mut out = Vec::new();
        let Some(record) = self.upsert_customer(customer, at, true, None, &mut out).await? else {
            return Ok(out);
        };
        let id = &record.profile.id;
        // Double opt-in: ask for confirmation first; the welcome follows it.
        let first = if record.consent_pending_since.is_some() {
            MessageKind::SubscriptionConfirmation
        } else {
            MessageKind::Welcome
        };
        let welcome = self.follow_up(MessageKey::new(first, id.as_str(), &[]), id, Subject::Customer, at);
        let known = KnownRecords {
            customer: Some(record.clone()),
            order: None,
        };
        out.push(self.attempt(welcome, false, known).await?);
        for follow_up in self.following(Moment::SignedUp, id.as_str(), id, &Subject::Customer, at) {
            out.extend(self.schedule(follow_up).await?);
        }
        if record.orders_confirmed == 0 {
            out.extend(self.schedule_win_back(&record, None, at).await?);
        }
        Ok(out)
    }

    /// Merges a profile into the stored customer, with the cart it came with (remembered so an
    /// erasure finds every cart), in one write; a new birthday, signup date or time zone
    /// (re)schedules the yearly occasions.
    pub(super) async fn upsert_customer(
        &self,
        customer: &crate::domain::Customer,
        at: Timestamp,
        signed_up: bool,
        cart: Option<&CartId>,
        out: &mut Vec<Outcome>,
    ) -> Result<Option<CustomerRecord>, EngineError> {
        let file = match self.event_customer(customer, at, None).await? {
            Ok(file) => file,
            Err(erased) => {
                out.push(erased);
                return Ok(None);
            }
        };
        let known = file.record;
        let (mut record, occasions) = self.merge_profile(known.as_ref(), customer, at, signed_up, cart.is_some());
        record.address_opted_out |= file.carried;
        record.carts.extend(cart.cloned());
        if known.as_ref() != Some(&record) {
            self.save_profile(&record, &occasions, out).await?;
            record.version += 1;
        }
        Ok(Some(record))
    }

    /// The stored customer an event's profile is merged into, read with the coupon `code` when
    /// given, after what the profile changes about the address's opt-out; `Err` (the event is
    /// dropped) when the event is from before an erasure of this customer or address.
    pub(super) async fn event_customer(
        &self,
        customer: &crate::domain::Customer,
        at: Timestamp,
        code: Option<&str>,
    ) -> Result<Result<EventCustomer, Outcome>, EngineError> {
        let address = self.address_guest(customer);
        let mut file = self
            .ports
            .store
            .customer_file(&customer.id, &customer.email, code, address.as_ref())
            .await?;
        if let Some(erased) = erased_before(file.erased_at, at) {
            return Ok(Err(erased));
        }
        // Seen for the first time under this id: what the address bought before (as a guest, or
        // in orders imported from the store's export) is theirs, so a returning buyer is not
        // greeted as a first-time one. Never across an erasure of the id or the address.
        if file.record.is_none()
            && file.erased_at.is_none()
            && let Some(mut record) = file.address_history.take()
        {
            // A new record under the store's id, written as new (the guest's stays as it was).
            record.profile.id = customer.id.clone();
            record.version = 0;
            file.record = Some(record);
        }
        let carried = self.address_consent(file.record.as_ref(), customer).await?;
        Ok(Ok(EventCustomer {
            record: file.record,
            coupon: file.coupon,
            carried,
            ledger: file.ledger,
        }))
    }

    /// The guest id of a store customer's address (`None` for a guest: that is their own id).
    fn address_guest(&self, customer: &crate::domain::Customer) -> Option<crate::domain::CustomerId> {
        self.address_guest_of(&customer.id, &customer.email)
    }

    /// The guest id of `email`, when `id` is a store customer's (not already a guest's).
    pub(super) fn address_guest_of(
        &self,
        id: &crate::domain::CustomerId,
        email: &crate::domain::EmailAddress,
    ) -> Option<crate::domain::CustomerId> {
        use crate::domain::{CustomerId, guest_id::PREFIX};
        if id.as_str().starts_with(PREFIX) {
            return None;
        }
        let guest = CustomerId::parse(&format!("{PREFIX}{}", email.as_str())).ok()?;
        Some(self.keys.guest_ids().customer_id(&guest))
    }

    /// What an incoming profile changes about its address's opt-out, before it is merged. A store
    /// statement of consent with its own time (Shopify's `consent_updated_at`) that is new lifts a
    /// tidings unsubscribe of the address made before it; a bare boolean never does. A customer
    /// unsubscribed by the release before (per id only) gets the address record now; true then,
    /// and the caller marks the merged record so it is done once.
    pub(super) async fn address_consent(
        &self,
        known: Option<&CustomerRecord>,
        customer: &crate::domain::Customer,
    ) -> Result<bool, EngineError> {
        let store = &self.ports.store;
        let mut carried = false;
        if let Some(known) = known.filter(|k| !k.address_opted_out) {
            let consent = &known.consent;
            if !consent.given && consent.source == crate::ports::ConsentSource::Unsubscribe {
                store.opt_out(&known.profile.email, consent.at).await?;
                carried = true;
            }
        }
        // With double opt-in the store's "yes" counts only once confirmed: it lifts nothing.
        let stated = customer.marketing_consent == Some(true) && !self.config.marketing.double_opt_in;
        let Some(stated_at) = customer.consent_updated_at.filter(|_| stated) else {
            return Ok(carried);
        };
        if known.is_some_and(|k| k.profile.consent_updated_at >= Some(stated_at)) {
            return Ok(carried);
        }
        store.lift_opt_out(&customer.email, stated_at).await?;
        Ok(carried)
    }

    /// Saves a merged customer with the yearly occasions its new dates start.
    pub(super) async fn save_profile(
        &self,
        customer: &CustomerRecord,
        occasions: &[FollowUp],
        out: &mut Vec<Outcome>,
    ) -> Result<(), EngineError> {
        // Alone, a plain conditional put (a one-item transaction costs twice the write capacity).
        if occasions.is_empty() {
            return Ok(self.ports.store.save_customer(customer).await?);
        }
        let changes = Changes {
            customer: Some(customer),
            follow_ups: occasions,
            ..Changes::default()
        };
        self.ports.store.save_together(&changes).await?;
        out.extend(occasions.iter().map(Outcome::scheduled));
        Ok(())
    }

    /// The stored customer with a profile merged in (not saved), and the yearly occasions to
    /// write with it when the birthday, signup date or time zone is new (replacing waiting ones).
    /// A customer `embedded` in an order or cart fills in what is known: what it leaves out
    /// (Shopify's order customer has no tags, no locale of its own) keeps its known value. A
    /// profile event (`CustomerSignedUp`, `CustomerUpdated`) replaces the profile.
    pub(super) fn merge_profile(
        &self,
        known: Option<&CustomerRecord>,
        customer: &crate::domain::Customer,
        at: Timestamp,
        signed_up: bool,
        embedded: bool,
    ) -> (CustomerRecord, Vec<FollowUp>) {
        let filled = match known {
            Some(known) if embedded => crate::engine::customer::fill_in(customer, &known.profile),
            _ => customer.clone(),
        };
        let record = merge_customer(
            known.cloned(),
            &filled,
            at,
            signed_up,
            self.config.marketing.double_opt_in,
        );
        let dates = |c: &CustomerRecord| (c.profile.birthday, c.profile.signed_up_at, c.profile.time_zone.clone());
        let occasions = if known.map(dates) != Some(dates(&record)) {
            MessageKind::ALL
                .iter()
                .filter_map(|kind| self.occasion(&record, *kind, at))
                .collect()
        } else {
            vec![]
        };
        (record, occasions)
    }
}
