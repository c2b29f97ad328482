-- Every domain event wakes the live streams of every instance (LISTEN delivr_live), as new
-- notifications do: an order page open on one instance follows a status changed on another
-- (a courier's step through the API), including the steps that notify nobody (in transit).
-- The payload is `ev:` and the partner id: the streams read the events from the table, and
-- the unread counts (which only notifications change) are left alone. Within one transaction
-- PostgreSQL sends identical payloads once.
CREATE FUNCTION delivr_notify_event() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('delivr_live', 'ev:' || NEW.partner_id);
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER domain_events_live AFTER INSERT ON domain_events
    FOR EACH ROW EXECUTE FUNCTION delivr_notify_event();
