-- The money rule, held by the database too: a payout is booked only from money that is there
-- (after its debit the balance still covers what other payouts hold), and nothing holds a
-- negative amount. Delivery fees may still take the balance below the held amount: they are
-- owed, and pending payouts then wait.
CREATE FUNCTION delivr_payout_covered() RETURNS trigger AS $$
BEGIN
    IF NEW.kind = 'PAYOUT' AND NEW.balance_after < (SELECT held FROM wallet_accounts WHERE partner_id = NEW.partner_id) THEN
        RAISE EXCEPTION 'payout not covered by the balance';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER wallet_payout_covered BEFORE INSERT ON wallet_entries
    FOR EACH ROW EXECUTE FUNCTION delivr_payout_covered();

-- NOT VALID: enforced from now on without scanning (or failing on) the rows already there.
ALTER TABLE wallet_accounts ADD CONSTRAINT wallet_held_not_negative CHECK (held >= 0) NOT VALID;
