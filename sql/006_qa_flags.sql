-- Flags raised on a whole product (e.g. BAD_SKY_SUB of a cube), next to its QA state;
-- per-IFU flags stay in qc.ifu_status.
ALTER TABLE qc.qa ADD COLUMN flags text[] NOT NULL DEFAULT '{}';
