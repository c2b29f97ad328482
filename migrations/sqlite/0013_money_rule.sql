-- The money rule, held by the database too: a payout is booked only from money that is there
-- (after its debit the balance still covers what other payouts hold), and nothing holds a
-- negative amount. Delivery fees may still take the balance below the held amount: they are
-- owed, and pending payouts then wait.
CREATE TRIGGER wallet_payout_covered BEFORE INSERT ON wallet_entries
    WHEN NEW.kind = 'PAYOUT' AND NEW.balance_after < (SELECT held FROM wallet_accounts WHERE partner_id = NEW.partner_id)
BEGIN
    SELECT RAISE(ABORT, 'payout not covered by the balance');
END;

CREATE TRIGGER wallet_held_not_negative BEFORE UPDATE OF held ON wallet_accounts
    WHEN NEW.held < 0
BEGIN
    SELECT RAISE(ABORT, 'held amount below zero');
END;
