-- Orders (PostgreSQL twin of the SQLite migration; same names, same integer and text types): tariffs, orders, their timeline, the domain-event outbox, courier tokens and
-- positions, and a generic rate-limit log.

CREATE TABLE tariffs (
    city_id          BIGINT PRIMARY KEY REFERENCES cities(id),
    base_fare        BIGINT  NOT NULL CHECK (base_fare >= 0),
    per_km           BIGINT  NOT NULL CHECK (per_km >= 0),
    surcharge_medium BIGINT  NOT NULL CHECK (surcharge_medium >= 0),
    surcharge_large  BIGINT  NOT NULL CHECK (surcharge_large >= 0),
    commission_bps   BIGINT  NOT NULL CHECK (commission_bps BETWEEN 0 AND 10000),
    updated_at       BIGINT  NOT NULL
);

CREATE TABLE orders (
    id                  TEXT    PRIMARY KEY,
    partner_id          TEXT    NOT NULL REFERENCES partners(id),
    tracking_number     TEXT    NOT NULL UNIQUE,
    public_token        TEXT    NOT NULL UNIQUE,
    status              TEXT    NOT NULL CHECK (status IN ('PENDING', 'ASSIGNED', 'PICKED_UP', 'IN_TRANSIT', 'COMPLETED', 'CANCELLED', 'FAILED')),
    source              TEXT    NOT NULL CHECK (source IN ('PORTAL', 'API', 'BOOKING', 'IMPORT', 'DEMO')),
    pickup_quartier_id  BIGINT  NOT NULL REFERENCES quartiers(id),
    pickup_address      TEXT    NOT NULL,
    dropoff_quartier_id BIGINT  NOT NULL REFERENCES quartiers(id),
    dropoff_address     TEXT    NOT NULL,
    recipient_name      TEXT    NOT NULL,
    recipient_phone     TEXT    NOT NULL,
    package_description TEXT    NOT NULL,
    size_class          TEXT    NOT NULL CHECK (size_class IN ('S', 'M', 'L')),
    cod_amount          BIGINT  NOT NULL DEFAULT 0 CHECK (cod_amount >= 0),
    courier_note        TEXT,
    delivery_pin        TEXT    NOT NULL,
    distance_m          BIGINT  NOT NULL,
    price_total         BIGINT  NOT NULL,
    price_commission    BIGINT  NOT NULL,
    price_net           BIGINT  NOT NULL,
    courier_id          TEXT    REFERENCES users(id),
    failure_reason      TEXT,
    cancel_reason       TEXT,
    created_at          BIGINT  NOT NULL,
    updated_at          BIGINT  NOT NULL,
    finished_at         BIGINT 
);
CREATE INDEX orders_partner_created ON orders (partner_id, created_at, id);
CREATE INDEX orders_partner_status ON orders (partner_id, status, created_at);
CREATE INDEX orders_partner_finished ON orders (partner_id, status, finished_at);
CREATE INDEX orders_courier ON orders (courier_id, status);
CREATE INDEX orders_status ON orders (status, created_at);

CREATE TABLE order_events (
    id         BIGSERIAL PRIMARY KEY,
    order_id   TEXT    NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
    status     TEXT    NOT NULL,
    actor_role TEXT    NOT NULL,
    actor_id   TEXT,
    note       TEXT,
    lat        DOUBLE PRECISION,
    lng        DOUBLE PRECISION,
    at         BIGINT  NOT NULL
);
CREATE INDEX order_events_order ON order_events (order_id, id);

CREATE TABLE domain_events (
    seq        BIGSERIAL PRIMARY KEY,
    id         TEXT    NOT NULL UNIQUE,
    partner_id TEXT    NOT NULL REFERENCES partners(id),
    kind       TEXT    NOT NULL,
    order_id   TEXT    REFERENCES orders(id),
    payload    TEXT    NOT NULL,
    created_at BIGINT  NOT NULL
);
CREATE INDEX domain_events_partner ON domain_events (partner_id, seq);

CREATE TABLE courier_tokens (
    token_hash   TEXT    PRIMARY KEY,
    user_id      TEXT    NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at   BIGINT  NOT NULL,
    last_used_at BIGINT  NOT NULL
);

CREATE TABLE order_positions_latest (
    order_id   TEXT    PRIMARY KEY REFERENCES orders(id) ON DELETE CASCADE,
    courier_id TEXT    NOT NULL,
    lat        DOUBLE PRECISION    NOT NULL,
    lng        DOUBLE PRECISION    NOT NULL,
    at         BIGINT  NOT NULL
);

CREATE TABLE order_positions (
    id       BIGSERIAL PRIMARY KEY,
    order_id TEXT    NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
    lat      DOUBLE PRECISION    NOT NULL,
    lng      DOUBLE PRECISION    NOT NULL,
    at       BIGINT  NOT NULL
);
CREATE INDEX order_positions_order ON order_positions (order_id, at);

CREATE TABLE rate_events (
    id  BIGSERIAL PRIMARY KEY,
    key TEXT    NOT NULL,
    at  BIGINT  NOT NULL
);
CREATE INDEX rate_events_key_at ON rate_events (key, at);

CREATE TABLE order_imports (
    id         TEXT    PRIMARY KEY,
    partner_id TEXT    NOT NULL REFERENCES partners(id),
    content    TEXT    NOT NULL,
    created_at BIGINT  NOT NULL,
    used_at    BIGINT 
);
