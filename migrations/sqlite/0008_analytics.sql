-- Analytics roll-ups, maintained by triggers in the same transaction as every change to
-- orders and the ledger, so that they always equal a direct computation. `day` is the Douala
-- calendar day (UTC+1 all year) as days since 1970-01-01; `hour` is the Douala hour.

CREATE TABLE analytics_daily (
    partner_id TEXT    NOT NULL,
    day        INTEGER NOT NULL,
    status     TEXT    NOT NULL,
    n          INTEGER NOT NULL,
    PRIMARY KEY (partner_id, day, status)
) WITHOUT ROWID;

CREATE TABLE analytics_hourly (
    partner_id TEXT    NOT NULL,
    day        INTEGER NOT NULL,
    hour       INTEGER NOT NULL,
    n          INTEGER NOT NULL,
    PRIMARY KEY (partner_id, day, hour)
) WITHOUT ROWID;

CREATE TABLE analytics_quartiers (
    partner_id  TEXT    NOT NULL,
    day         INTEGER NOT NULL,
    quartier_id INTEGER NOT NULL,
    n           INTEGER NOT NULL,
    PRIMARY KEY (partner_id, day, quartier_id)
) WITHOUT ROWID;

CREATE TABLE analytics_money (
    partner_id TEXT    NOT NULL,
    day        INTEGER NOT NULL,
    cod        INTEGER NOT NULL,
    spend      INTEGER NOT NULL,
    PRIMARY KEY (partner_id, day)
) WITHOUT ROWID;

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

CREATE TRIGGER analytics_orders_insert AFTER INSERT ON orders BEGIN
    INSERT INTO analytics_daily (partner_id, day, status, n) VALUES (NEW.partner_id, (NEW.created_at + 3600000) / 86400000, NEW.status, 1)
        ON CONFLICT (partner_id, day, status) DO UPDATE SET n = n + 1;
    INSERT INTO analytics_hourly (partner_id, day, hour, n) VALUES (NEW.partner_id, (NEW.created_at + 3600000) / 86400000, ((NEW.created_at + 3600000) / 3600000) % 24, 1)
        ON CONFLICT (partner_id, day, hour) DO UPDATE SET n = n + 1;
    INSERT INTO analytics_quartiers (partner_id, day, quartier_id, n) VALUES (NEW.partner_id, (NEW.created_at + 3600000) / 86400000, NEW.dropoff_quartier_id, 1)
        ON CONFLICT (partner_id, day, quartier_id) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER analytics_orders_delete AFTER DELETE ON orders BEGIN
    UPDATE analytics_daily SET n = n - 1
     WHERE partner_id = OLD.partner_id AND day = (OLD.created_at + 3600000) / 86400000 AND status = OLD.status;
    UPDATE analytics_hourly SET n = n - 1
     WHERE partner_id = OLD.partner_id AND day = (OLD.created_at + 3600000) / 86400000 AND hour = ((OLD.created_at + 3600000) / 3600000) % 24;
    UPDATE analytics_quartiers SET n = n - 1
     WHERE partner_id = OLD.partner_id AND day = (OLD.created_at + 3600000) / 86400000 AND quartier_id = OLD.dropoff_quartier_id;
END;

CREATE TRIGGER analytics_orders_status AFTER UPDATE OF status, created_at, partner_id ON orders
WHEN OLD.status IS NOT NEW.status OR OLD.created_at IS NOT NEW.created_at OR OLD.partner_id IS NOT NEW.partner_id BEGIN
    UPDATE analytics_daily SET n = n - 1
     WHERE partner_id = OLD.partner_id AND day = (OLD.created_at + 3600000) / 86400000 AND status = OLD.status;
    INSERT INTO analytics_daily (partner_id, day, status, n) VALUES (NEW.partner_id, (NEW.created_at + 3600000) / 86400000, NEW.status, 1)
        ON CONFLICT (partner_id, day, status) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER analytics_orders_when AFTER UPDATE OF created_at, partner_id ON orders
WHEN OLD.created_at IS NOT NEW.created_at OR OLD.partner_id IS NOT NEW.partner_id BEGIN
    UPDATE analytics_hourly SET n = n - 1
     WHERE partner_id = OLD.partner_id AND day = (OLD.created_at + 3600000) / 86400000 AND hour = ((OLD.created_at + 3600000) / 3600000) % 24;
    INSERT INTO analytics_hourly (partner_id, day, hour, n) VALUES (NEW.partner_id, (NEW.created_at + 3600000) / 86400000, ((NEW.created_at + 3600000) / 3600000) % 24, 1)
        ON CONFLICT (partner_id, day, hour) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER analytics_orders_where AFTER UPDATE OF created_at, partner_id, dropoff_quartier_id ON orders
WHEN OLD.created_at IS NOT NEW.created_at OR OLD.partner_id IS NOT NEW.partner_id OR OLD.dropoff_quartier_id IS NOT NEW.dropoff_quartier_id BEGIN
    UPDATE analytics_quartiers SET n = n - 1
     WHERE partner_id = OLD.partner_id AND day = (OLD.created_at + 3600000) / 86400000 AND quartier_id = OLD.dropoff_quartier_id;
    INSERT INTO analytics_quartiers (partner_id, day, quartier_id, n) VALUES (NEW.partner_id, (NEW.created_at + 3600000) / 86400000, NEW.dropoff_quartier_id, 1)
        ON CONFLICT (partner_id, day, quartier_id) DO UPDATE SET n = n + 1;
END;

-- The ledger is append-only: entries are only ever inserted.
CREATE TRIGGER analytics_ledger_insert AFTER INSERT ON wallet_entries
WHEN NEW.kind IN ('COD_COLLECTED', 'DELIVERY_FEE') BEGIN
    INSERT INTO analytics_money (partner_id, day, cod, spend)
    VALUES (NEW.partner_id, (NEW.created_at + 3600000) / 86400000,
            CASE WHEN NEW.kind = 'COD_COLLECTED' THEN NEW.amount ELSE 0 END,
            CASE WHEN NEW.kind = 'DELIVERY_FEE' THEN -NEW.amount ELSE 0 END)
        ON CONFLICT (partner_id, day) DO UPDATE SET cod = cod + excluded.cod, spend = spend + excluded.spend;
END;
