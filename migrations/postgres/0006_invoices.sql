-- (PostgreSQL twin of the SQLite migration.) Monthly invoices and credit notes: numbered per year without gaps, frozen once issued.
-- Partners gain their legal identifiers (NIU, RCCM) for the invoices.

ALTER TABLE partners ADD COLUMN niu TEXT;
ALTER TABLE partners ADD COLUMN rccm TEXT;

-- One gapless sequence per year and kind (invoices FAC-…, credit notes AV-…).
CREATE TABLE invoice_counters (
    year BIGINT NOT NULL,
    kind TEXT    NOT NULL,
    last BIGINT NOT NULL,
    PRIMARY KEY (year, kind)
);

CREATE TABLE invoices (
    id          TEXT    PRIMARY KEY,
    partner_id  TEXT    NOT NULL REFERENCES partners(id),
    number      TEXT    NOT NULL UNIQUE,
    year        BIGINT NOT NULL,
    seq         BIGINT NOT NULL,
    month       TEXT    NOT NULL,
    kind        TEXT    NOT NULL CHECK (kind IN ('INVOICE', 'CREDIT_NOTE')),
    subtotal    BIGINT NOT NULL,
    tva         BIGINT NOT NULL,
    total       BIGINT NOT NULL,
    lines       TEXT    NOT NULL,
    customer    TEXT    NOT NULL,
    credit_for  TEXT    REFERENCES invoices(id),
    created_at  BIGINT NOT NULL,
    UNIQUE (year, kind, seq)
);
CREATE UNIQUE INDEX invoices_one_per_month ON invoices (partner_id, month) WHERE kind = 'INVOICE';
CREATE INDEX invoices_partner ON invoices (partner_id, created_at);
-- An invoice is corrected once.
CREATE UNIQUE INDEX invoices_one_credit_note ON invoices (credit_for) WHERE credit_for IS NOT NULL;
