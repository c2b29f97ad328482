-- Notifications speak the reader's current language: the event's kind and data are kept, and
-- the text is rendered when read (the stored title and message stay, for older rows).
ALTER TABLE partner_notifications ADD COLUMN event_kind TEXT;
ALTER TABLE partner_notifications ADD COLUMN event_data TEXT;
-- One entry per order: the latest notification of each order is found by this index.
CREATE INDEX partner_notifications_order ON partner_notifications (partner_id, order_id, id);
-- The kinds of events a vendor chose not to be notified of (comma-separated).
ALTER TABLE partners ADD COLUMN muted_notifications TEXT NOT NULL DEFAULT '';
