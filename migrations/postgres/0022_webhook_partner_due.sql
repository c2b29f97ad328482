-- A partner's due deliveries, found without reading the ones already delivered (the claim
-- and the next retry's time both look them up by partner and status).
CREATE INDEX webhook_deliveries_partner_due ON webhook_deliveries (partner_id, status, next_attempt_at);
