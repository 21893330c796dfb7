//! The send ledger: claims (put-if-absent, in the transaction of the caller's writes, with the
//! suppression and opt-out checks) and the state they move through.

use super::{
    CLAIM_TTL, DynamoStore, Item, LEDGER_TTL, conditional, conditional_output, n, number_attr, s, string_attr,
    suppression_hash, ttl, unavailable,
};
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use jiff::Timestamp;
use std::collections::HashMap;
use tidings_core::domain::CustomerId;
use tidings_core::message::MessageKey;
use tidings_core::ports::{
    Claim, ClaimOutcome, Held, MarketingSend, SendLedger, StoreError, in_whole_seconds, opted_out_key, refusal,
};

impl DynamoStore {
    /// One form of the pacing write (`take_send_slot`): `same` adds to the stored second, else
    /// starts a later one. The day's sends when it was taken.
    async fn take_in(&self, at: Timestamp, rate: u32, same: bool) -> Result<Option<u64>, StoreError> {
        use tidings_core::ports::retention::SEND_DAY_TTL;
        let day = tidings_core::ports::retention::send_day(at);
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(format!("PACE#{day}"), "DAY")))
            .expression_attribute_names("#second", "second")
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":now", n(at.as_second()))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":ttl", ttl(at + SEND_DAY_TTL))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::UpdatedNew);
        let update = if same {
            update
                .update_expression("ADD in_second :one, sends :one SET #ttl = :ttl")
                .condition_expression("#second = :now AND in_second < :rate")
                .expression_attribute_values(":rate", n(i64::from(rate)))
        } else {
            update
                .update_expression("SET #second = :now, in_second = :one, #ttl = :ttl ADD sends :one")
                .condition_expression("attribute_not_exists(#second) OR #second < :now")
        };
        let taken = conditional_output(update.send().await, "take_send_slot")?;
        Ok(taken.map(|output| {
            let today = output.attributes.as_ref().and_then(|item| number_attr(item, "sends"));
            today.and_then(|t| u64::try_from(t).ok()).unwrap_or(1)
        }))
    }

    pub(super) fn claim_item(claim: &Claim) -> Item {
        let mut item = Self::key(format!("MSG#{}", claim.key), "CLAIM");
        if claim.sending {
            item.insert("state".into(), s("sending"));
            item.insert("sending_since".into(), s(claim.at.to_string()));
        } else {
            item.insert("state".into(), s("claimed"));
        }
        item.insert("lease_until".into(), n((claim.at + claim.lease).as_second()));
        item.insert("claimed_at".into(), s(claim.at.to_string()));
        item.insert("ttl".into(), ttl(claim.at + CLAIM_TTL));
        // Marketing records the consent it relied on: which statement, from whom, when.
        if let Some(consent) = &claim.consent {
            item.insert(
                "consent_source".into(),
                s(format!("{:?}", consent.source).to_lowercase()),
            );
            item.insert("consent_at".into(), s(consent.at.to_string()));
        }
        item
    }

    pub(super) fn claim_values(claim: &Claim) -> HashMap<String, AttributeValue> {
        HashMap::from([
            (":claimed".to_owned(), s("claimed")),
            (":now".to_owned(), n(claim.at.as_second())),
        ])
    }

    /// Why an existing claim item refused a new claim.
    pub(super) fn refused(existing: Option<&Item>, claim: &Claim) -> ClaimOutcome {
        let at = claim.at;
        let lease_epoch = existing.and_then(|item| number_attr(item, "lease_until"));
        // Leases are whole seconds here (`in_whole_seconds` says how they end).
        let lease_until = lease_epoch
            .and_then(|epoch| Timestamp::from_second(epoch).ok())
            .unwrap_or(at);
        let held = match existing.and_then(|item| string_attr(item, "state")) {
            Some("sent") => Held::Sent,
            Some("failed") => Held::Failed,
            // Waits for SES's report (ses-events settles it) while the lease or the recovery
            // window lasts; then a transactional message is taken back once, marketing never.
            Some("sending") => Held::Sending {
                since: existing
                    .and_then(|item| string_attr(item, "sending_since"))
                    .and_then(|since| since.parse::<Timestamp>().ok()),
                lease_until,
                recovered: existing.is_some_and(|item| item.contains_key("recovered_at")),
            },
            // `claimed` refuses only while its lease lasts (to its last second included).
            _ => Held::Claimed { lease_until },
        };
        let held = in_whole_seconds(held, at);
        // The condition refused it, so a `claimed` lease had not ended when it was checked.
        refusal(held, claim).unwrap_or(ClaimOutcome::InFlight { until: at })
    }

    /// The claim (conditional put) and, in the same transaction, the check that the address is
    /// not suppressed: one write instead of a read and a write, and no gap between them. Marketing
    /// also reserves the customer's frequency-cap slot, and a coupon is recorded with its message.
    /// All or none; `claim_refusal` reads a refusal.
    pub(super) fn claim_actions(&self, claim: &Claim) -> Result<Vec<TransactWriteItem>, StoreError> {
        // `claim_action_count` counts these without building them.
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(Self::claim_item(claim)))
            .condition_expression(Self::CLAIMABLE)
            .expression_attribute_names("#state", "state")
            .set_expression_attribute_values(Some(Self::claim_values(claim)))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(unavailable("claim_message"))?;
        let not_suppressed = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(Self::key(
                format!("SUPPRESSED#{}", suppression_hash(&claim.to)),
                "SUPPRESSED",
            )))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(unavailable("claim_message"))?;
        let mut actions = vec![
            TransactWriteItem::builder().put(put).build(),
            TransactWriteItem::builder().condition_check(not_suppressed).build(),
        ];
        if let Some(window) = claim.cap {
            let not_opted_out = ConditionCheck::builder()
                .table_name(&self.table)
                .set_key(Some(Self::key(
                    format!("OPTOUT#{}", opted_out_key(&claim.to)),
                    "OPTOUT",
                )))
                .condition_expression("attribute_not_exists(pk)")
                .build()
                .map_err(unavailable("claim_message"))?;
            actions.push(TransactWriteItem::builder().condition_check(not_opted_out).build());
            let ledger = Update::builder()
                .table_name(&self.table)
                .set_key(Some(Self::key(format!("CUSTOMER#{}", claim.customer_id), "MARKETING")))
                .update_expression("SET at_epoch = :now, at_text = :at, message_key = :key, #ttl = :ttl")
                // `ports::cap_refusal` is this condition, for the memory store to decide alike.
                .condition_expression("attribute_not_exists(pk) OR at_epoch <= :free OR message_key = :key")
                .expression_attribute_names("#ttl", "ttl")
                .expression_attribute_values(":now", n(claim.at.as_second()))
                .expression_attribute_values(":at", s(claim.at.to_string()))
                .expression_attribute_values(":key", s(claim.key.as_str()))
                .expression_attribute_values(":ttl", ttl(claim.at + LEDGER_TTL))
                .expression_attribute_values(":free", n((claim.at - window).as_second()))
                .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
                .build()
                .map_err(unavailable("claim_message"))?;
            actions.push(TransactWriteItem::builder().update(ledger).build());
        }
        if let Some(coupon) = &claim.coupon {
            let put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(Self::coupon_item(coupon)?))
                .build()
                .map_err(unavailable("claim_message"))?;
            actions.push(TransactWriteItem::builder().put(put).build());
        }
        debug_assert_eq!(actions.len(), Self::claim_action_count(Some(claim)));
        Ok(actions)
    }

    /// How many actions `claim_actions` adds to a transaction (none without a claim).
    pub(super) fn claim_action_count(claim: Option<&Claim>) -> usize {
        claim.map_or(0, |claim| {
            // Marketing adds the opt-out check and the cap's ledger.
            2 + 2 * usize::from(claim.cap.is_some()) + usize::from(claim.coupon.is_some())
        })
    }

    /// Why action `index` of `claim_actions` refused the claim (`old`: the item it found).
    pub(super) fn claim_refusal(claim: &Claim, index: usize, old: Option<&Item>) -> ClaimOutcome {
        match index {
            0 => Self::refused(old, claim),
            1 => ClaimOutcome::Suppressed,
            2 if claim.cap.is_some() => ClaimOutcome::OptedOut,
            // Only the cap's ledger (action 3) has a condition after these.
            _ => ClaimOutcome::CapReached {
                last: old
                    .and_then(|item| number_attr(item, "at_epoch"))
                    .and_then(|epoch| Timestamp::from_second(epoch).ok())
                    .unwrap_or(claim.at),
            },
        }
    }

    /// `actions` and, when given, the claim in one transaction. A refused claim leaves the
    /// actions to a second transaction without it. `Err((index, old item))` when action `index` of
    /// `actions` refused (nothing written).
    pub(super) async fn transact_with_claim(
        &self,
        actions: Vec<TransactWriteItem>,
        claim: Option<&Claim>,
        operation: &'static str,
    ) -> Result<Result<Option<ClaimOutcome>, (usize, Option<Item>)>, StoreError> {
        let Some(claim) = claim else {
            return Ok(match self.transact_conditional(actions, operation).await? {
                None => Ok(None),
                Some(refused) => Err(refused),
            });
        };
        let first_claim_action = actions.len();
        let mut together = actions.clone();
        together.extend(self.claim_actions(claim)?);
        match self.transact_conditional(together, operation).await? {
            None => Ok(Ok(Some(ClaimOutcome::Claimed))),
            Some((index, old)) if index < first_claim_action => Ok(Err((index, old))),
            Some((index, old)) => {
                let refusal = Self::claim_refusal(claim, index - first_claim_action, old.as_ref());
                Ok(match self.transact_conditional(actions, operation).await? {
                    None => Ok(Some(refusal)),
                    Some(refused) => Err(refused),
                })
            }
        }
    }

    /// An update of a message's claim item; `#state` names its state attribute.
    pub(super) fn claim_update(&self, key: &MessageKey) -> UpdateItemFluentBuilder {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(format!("MSG#{key}"), "CLAIM")))
            .expression_attribute_names("#state", "state")
    }

    /// Records SES's acceptance on a claim.
    pub(super) fn sent_update(&self, key: &MessageKey, provider_id: &str, at: Timestamp) -> UpdateItemFluentBuilder {
        self.claim_update(key)
            .update_expression("SET #state = :sent, provider_id = :id, sent_at = :at REMOVE lease_until, sending_since")
            .expression_attribute_values(":sent", s("sent"))
            .expression_attribute_values(":id", s(provider_id))
            .expression_attribute_values(":at", s(at.to_string()))
    }
}

impl SendLedger for DynamoStore {
    async fn claim_message(&self, claim: &Claim) -> Result<ClaimOutcome, StoreError> {
        let actions = self.claim_actions(claim)?;
        Ok(match self.transact_conditional(actions, "claim_message").await? {
            None => ClaimOutcome::Claimed,
            Some((index, old)) => Self::claim_refusal(claim, index, old.as_ref()),
        })
    }

    async fn mark_sending(&self, key: &MessageKey, at: Timestamp) -> Result<bool, StoreError> {
        // Ours while it still carries our claim time: the SDK's retry of a call whose answer was
        // lost finds it `sending` already, and is still ours; a holder that took over after our
        // lease rewrote `claimed_at`.
        let result = self
            .claim_update(key)
            .update_expression("SET #state = :sending, sending_since = :at")
            .condition_expression("claimed_at = :at AND (#state = :claimed OR #state = :sending)")
            .expression_attribute_values(":claimed", s("claimed"))
            .expression_attribute_values(":sending", s("sending"))
            .expression_attribute_values(":at", s(at.to_string()))
            .send()
            .await;
        conditional(result, "mark_sending")
    }

    async fn recover_claim(&self, claim: &Claim, since: Timestamp) -> Result<ClaimOutcome, StoreError> {
        // The claim's actions, the put taken back only from the unanswered attempt begun at
        // `since` and only once (`recovered_at`), in one transaction with the suppression check.
        let mut actions = self.claim_actions(claim)?;
        let mut item = Self::claim_item(claim);
        item.insert("recovered_at".into(), s(claim.at.to_string()));
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("#state = :sending AND sending_since = :since AND attribute_not_exists(recovered_at)")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":sending", s("sending"))
            .expression_attribute_values(":since", s(since.to_string()))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(unavailable("recover_claim"))?;
        actions[0] = TransactWriteItem::builder().put(put).build();
        Ok(match self.transact_conditional(actions, "recover_claim").await? {
            None => ClaimOutcome::Claimed,
            Some((0, old)) => match Self::refused(old.as_ref(), claim) {
                // Another attempt began since: it is that one's to settle.
                ClaimOutcome::Recoverable { .. } => ClaimOutcome::InFlight {
                    until: claim.at + claim.lease,
                },
                refused => refused,
            },
            Some((index, old)) => Self::claim_refusal(claim, index, old.as_ref()),
        })
    }

    async fn release_claim(&self, key: &MessageKey) -> Result<(), StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(format!("MSG#{key}"), "CLAIM")))
            .condition_expression("#state IN (:claimed, :sending)")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":claimed", s("claimed"))
            .expression_attribute_values(":sending", s("sending"))
            .send()
            .await;
        // Not ours to release any more (sent or failed meanwhile): leave it.
        conditional(result, "release_claim").map(|_| ())
    }

    async fn mark_sent(&self, key: &MessageKey, provider_id: &str, at: Timestamp) -> Result<(), StoreError> {
        self.sent_update(key, provider_id, at)
            .send()
            .await
            .map_err(unavailable("mark_sent"))?;
        Ok(())
    }

    async fn mark_failed(&self, key: &MessageKey, reason: &str, at: Timestamp) -> Result<(), StoreError> {
        self.claim_update(key)
            .update_expression(
                "SET #state = :failed, reason = :reason, failed_at = :at REMOVE lease_until, sending_since",
            )
            .expression_attribute_values(":failed", s("failed"))
            .expression_attribute_values(":reason", s(reason))
            .expression_attribute_values(":at", s(at.to_string()))
            .send()
            .await
            .map_err(unavailable("mark_failed"))?;
        Ok(())
    }

    async fn take_send_slot(&self, at: Timestamp, rate: u32) -> Result<Option<u64>, StoreError> {
        // One item per UTC day: the second being sent in, its sends and the day's. A send in the
        // same second adds one while below the rate; the first in a new second starts it again.
        // Atomic conditional updates: concurrent senders need no transaction and never conflict.
        // Usually one call: this process tries first the form its last send needed.
        use std::sync::atomic::Ordering;
        let second = at.as_second();
        let same_first = self.paced_second.load(Ordering::Relaxed) == second;
        for same in [same_first, !same_first] {
            if let Some(today) = self.take_in(at, rate, same).await? {
                self.paced_second.store(second, Ordering::Relaxed);
                return Ok(Some(today));
            }
        }
        // This second's sends are taken (or another sender is already in a later second).
        Ok(None)
    }

    async fn last_marketing(&self, customer: &CustomerId) -> Result<Option<MarketingSend>, StoreError> {
        let Some(item) = self
            .get(format!("CUSTOMER#{customer}"), "MARKETING", "last_marketing")
            .await?
        else {
            return Ok(None);
        };
        let at = number_attr(&item, "at_epoch").and_then(|e| Timestamp::from_second(e).ok());
        let key = string_attr(&item, "message_key").and_then(|k| MessageKey::parse(k).ok());
        Ok(at.zip(key).map(|(at, key)| MarketingSend { at, key }))
    }

    async fn settle_sending(&self, key: &MessageKey, provider_id: &str, at: Timestamp) -> Result<(), StoreError> {
        let result = self
            .sent_update(key, provider_id, at)
            .condition_expression("#state = :sending")
            .expression_attribute_values(":sending", s("sending"))
            .send()
            .await;
        // Already settled by the sender itself: nothing to do.
        conditional(result, "settle_sending").map(|_| ())
    }

    async fn record_delivery(&self, key: &MessageKey, status: &str, at: Timestamp) -> Result<(), StoreError> {
        let result = self
            .claim_update(key)
            .update_expression("SET delivery_status = :status, delivery_at = :at")
            .condition_expression("attribute_exists(#state)")
            .expression_attribute_values(":status", s(status))
            .expression_attribute_values(":at", s(at.to_string()))
            .send()
            .await;
        // A message tidings did not send (or whose claim expired): nothing to record on.
        conditional(result, "record_delivery").map(|_| ())
    }
}
