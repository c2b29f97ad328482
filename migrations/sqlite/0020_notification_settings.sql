-- Notifications speak the reader's current language: the event's kind and data are kept, and
-- the text is rendered when read (the stored title and message stay, for older rows).
ALTER TABLE partner_notifications ADD COLUMN event_kind TEXT;
ALTER TABLE partner_notifications ADD COLUMN event_data TEXT;
-- One entry per order: the latest notification of each order is found by this index.
CREATE INDEX partner_notifications_order ON partner_notifications (partner_id, order_id, id);
-- The kinds of events a vendor chose not to be notified of (comma-separated).
ALTER TABLE partners ADD COLUMN muted_notifications TEXT NOT NULL DEFAULT '';
-- Older notifications: each order's unread ones give way to its newest, as from now on.
UPDATE partner_notifications SET is_read = TRUE
WHERE is_read = FALSE AND order_id IS NOT NULL
  AND id < (SELECT MAX(m.id) FROM partner_notifications m WHERE m.partner_id = partner_notifications.partner_id AND m.order_id = partner_notifications.order_id);
