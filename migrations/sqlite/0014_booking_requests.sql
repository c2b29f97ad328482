-- Booking requests: what a customer asks on a vendor's public booking page. A request waits
-- for the vendor, who accepts it (setting the cash to collect; it becomes an order, in the
-- same transaction) or declines it with a reason the customer reads; unanswered, it expires.
CREATE TABLE booking_requests (
    id                  TEXT    PRIMARY KEY,
    partner_id          TEXT    NOT NULL REFERENCES partners(id),
    public_token        TEXT    NOT NULL UNIQUE,
    status              TEXT    NOT NULL CHECK (status IN ('PENDING', 'ACCEPTED', 'DECLINED', 'EXPIRED')),
    recipient_name      TEXT    NOT NULL,
    recipient_phone     TEXT    NOT NULL,
    dropoff_quartier_id BIGINT  NOT NULL REFERENCES quartiers(id),
    dropoff_address     TEXT    NOT NULL,
    package_description TEXT    NOT NULL,
    quoted_fee          BIGINT  NOT NULL CHECK (quoted_fee >= 0),
    language            TEXT    NOT NULL,
    decline_reason      TEXT,
    order_id            TEXT    REFERENCES orders(id),
    created_at          BIGINT  NOT NULL,
    expires_at          BIGINT  NOT NULL,
    decided_at          BIGINT,
    CHECK (status <> 'DECLINED' OR decline_reason IS NOT NULL)
);
CREATE INDEX booking_requests_partner_status ON booking_requests (partner_id, status, created_at);
CREATE INDEX booking_requests_due ON booking_requests (expires_at) WHERE status = 'PENDING';
