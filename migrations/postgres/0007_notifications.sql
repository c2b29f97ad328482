-- Unread notifications are counted on every page (the badge).
CREATE INDEX partner_notifications_unread ON partner_notifications (partner_id, is_read, id);

-- Every new notification wakes the streams of every instance (LISTEN delivr_live): the
-- payload is the partner id only; the rows are read from the table.
CREATE FUNCTION delivr_notify_live() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('delivr_live', NEW.partner_id);
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER partner_notifications_live AFTER INSERT ON partner_notifications
    FOR EACH ROW EXECUTE FUNCTION delivr_notify_live();
