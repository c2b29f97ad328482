-- Analytics roll-ups, maintained by triggers in the same transaction as every change to
-- orders and the ledger, so that they always equal a direct computation. `day` is the Douala
-- calendar day (UTC+1 all year) as days since 1970-01-01; `hour` is the Douala hour.

CREATE TABLE analytics_daily (
    partner_id TEXT   NOT NULL,
    day        BIGINT NOT NULL,
    status     TEXT   NOT NULL,
    n          BIGINT NOT NULL,
    PRIMARY KEY (partner_id, day, status)
);

CREATE TABLE analytics_hourly (
    partner_id TEXT   NOT NULL,
    day        BIGINT NOT NULL,
    hour       BIGINT NOT NULL,
    n          BIGINT NOT NULL,
    PRIMARY KEY (partner_id, day, hour)
);

CREATE TABLE analytics_quartiers (
    partner_id  TEXT   NOT NULL,
    day         BIGINT NOT NULL,
    quartier_id BIGINT NOT NULL,
    n           BIGINT NOT NULL,
    PRIMARY KEY (partner_id, day, quartier_id)
);

CREATE TABLE analytics_money (
    partner_id TEXT   NOT NULL,
    day        BIGINT NOT NULL,
    cod        BIGINT NOT NULL,
    spend      BIGINT NOT NULL,
    PRIMARY KEY (partner_id, day)
);

INSERT INTO analytics_daily (partner_id, day, status, n)
    SELECT partner_id, (created_at + 3600000) / 86400000, status, COUNT(*) FROM orders GROUP BY 1, 2, 3;
INSERT INTO analytics_hourly (partner_id, day, hour, n)
    SELECT partner_id, (created_at + 3600000) / 86400000, ((created_at + 3600000) / 3600000) % 24, COUNT(*) FROM orders GROUP BY 1, 2, 3;
INSERT INTO analytics_quartiers (partner_id, day, quartier_id, n)
    SELECT partner_id, (created_at + 3600000) / 86400000, dropoff_quartier_id, COUNT(*) FROM orders GROUP BY 1, 2, 3;
INSERT INTO analytics_money (partner_id, day, cod, spend)
    SELECT partner_id, (created_at + 3600000) / 86400000,
           SUM(CASE WHEN kind = 'COD_COLLECTED' THEN amount ELSE 0 END),
           SUM(CASE WHEN kind = 'DELIVERY_FEE' THEN -amount ELSE 0 END)
      FROM wallet_entries WHERE kind IN ('COD_COLLECTED', 'DELIVERY_FEE') GROUP BY 1, 2;

CREATE FUNCTION delivr_analytics_orders() RETURNS trigger AS $$
DECLARE
    moved boolean := TG_OP <> 'UPDATE' OR OLD.created_at IS DISTINCT FROM NEW.created_at OR OLD.partner_id IS DISTINCT FROM NEW.partner_id;
BEGIN
    IF TG_OP = 'UPDATE' AND NOT moved AND OLD.status IS NOT DISTINCT FROM NEW.status
       AND OLD.dropoff_quartier_id IS NOT DISTINCT FROM NEW.dropoff_quartier_id THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        IF moved OR OLD.status IS DISTINCT FROM NEW.status THEN
            UPDATE analytics_daily SET n = n - 1
             WHERE partner_id = OLD.partner_id AND day = (OLD.created_at + 3600000) / 86400000 AND status = OLD.status;
        END IF;
        IF moved THEN
            UPDATE analytics_hourly SET n = n - 1
             WHERE partner_id = OLD.partner_id AND day = (OLD.created_at + 3600000) / 86400000 AND hour = ((OLD.created_at + 3600000) / 3600000) % 24;
        END IF;
        IF moved OR OLD.dropoff_quartier_id IS DISTINCT FROM NEW.dropoff_quartier_id THEN
            UPDATE analytics_quartiers SET n = n - 1
             WHERE partner_id = OLD.partner_id AND day = (OLD.created_at + 3600000) / 86400000 AND quartier_id = OLD.dropoff_quartier_id;
        END IF;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        IF moved OR OLD.status IS DISTINCT FROM NEW.status THEN
            INSERT INTO analytics_daily (partner_id, day, status, n) VALUES (NEW.partner_id, (NEW.created_at + 3600000) / 86400000, NEW.status, 1)
                ON CONFLICT (partner_id, day, status) DO UPDATE SET n = analytics_daily.n + 1;
        END IF;
        IF moved THEN
            INSERT INTO analytics_hourly (partner_id, day, hour, n) VALUES (NEW.partner_id, (NEW.created_at + 3600000) / 86400000, ((NEW.created_at + 3600000) / 3600000) % 24, 1)
                ON CONFLICT (partner_id, day, hour) DO UPDATE SET n = analytics_hourly.n + 1;
        END IF;
        IF moved OR OLD.dropoff_quartier_id IS DISTINCT FROM NEW.dropoff_quartier_id THEN
            INSERT INTO analytics_quartiers (partner_id, day, quartier_id, n) VALUES (NEW.partner_id, (NEW.created_at + 3600000) / 86400000, NEW.dropoff_quartier_id, 1)
                ON CONFLICT (partner_id, day, quartier_id) DO UPDATE SET n = analytics_quartiers.n + 1;
        END IF;
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER analytics_orders AFTER INSERT OR DELETE OR UPDATE OF status, created_at, partner_id, dropoff_quartier_id ON orders
    FOR EACH ROW EXECUTE FUNCTION delivr_analytics_orders();

-- The ledger is append-only: entries are only ever inserted.
CREATE FUNCTION delivr_analytics_ledger() RETURNS trigger AS $$
BEGIN
    INSERT INTO analytics_money (partner_id, day, cod, spend)
    VALUES (NEW.partner_id, (NEW.created_at + 3600000) / 86400000,
            CASE WHEN NEW.kind = 'COD_COLLECTED' THEN NEW.amount ELSE 0 END,
            CASE WHEN NEW.kind = 'DELIVERY_FEE' THEN -NEW.amount ELSE 0 END)
        ON CONFLICT (partner_id, day) DO UPDATE SET cod = analytics_money.cod + EXCLUDED.cod, spend = analytics_money.spend + EXCLUDED.spend;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER analytics_ledger AFTER INSERT ON wallet_entries
    FOR EACH ROW WHEN (NEW.kind IN ('COD_COLLECTED', 'DELIVERY_FEE')) EXECUTE FUNCTION delivr_analytics_ledger();
