-- Served routes: a delivery stays within one city (its tariff) unless DELIVR-CM serves the
-- pair of cities, with its own tariff (both directions; the pair is stored once, smaller id
-- first). A pair without a row is not served: such an order is refused, never priced.
CREATE TABLE intercity_tariffs (
    city_a           BIGINT  NOT NULL REFERENCES cities(id),
    city_b           BIGINT  NOT NULL REFERENCES cities(id),
    base_fare        BIGINT  NOT NULL CHECK (base_fare >= 0),
    per_km           BIGINT  NOT NULL CHECK (per_km >= 0),
    surcharge_medium BIGINT  NOT NULL CHECK (surcharge_medium >= 0),
    surcharge_large  BIGINT  NOT NULL CHECK (surcharge_large >= 0),
    commission_bps   BIGINT  NOT NULL CHECK (commission_bps BETWEEN 0 AND 10000),
    updated_at       BIGINT  NOT NULL,
    PRIMARY KEY (city_a, city_b),
    CHECK (city_a < city_b)
);
