-- PostgreSQL twin of the SQLite migration. Orders drafted offline on a vendor's device carry a
-- key of their own: sent twice (a retry when the connection comes back), they still make one order.
CREATE TABLE order_client_keys (
    partner_id TEXT    NOT NULL REFERENCES partners(id),
    key        TEXT    NOT NULL,
    order_id   TEXT    NOT NULL REFERENCES orders(id),
    created_at BIGINT  NOT NULL,
    PRIMARY KEY (partner_id, key)
);
