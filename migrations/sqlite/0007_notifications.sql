-- Unread notifications are counted on every page (the badge).
CREATE INDEX partner_notifications_unread ON partner_notifications (partner_id, is_read, id);
