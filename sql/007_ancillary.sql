-- Ancillary data: images, cubes and catalogues of other instruments covering MUSE fields
-- (HST imaging, photometric and redshift catalogues, ...). Like MUSE files they stay on
-- disk; this holds their path, checksum and sky footprint (a pgSphere polygon: from the
-- WCS of an image, from the RA/Dec extent of a catalogue), so that the products they
-- overlap can list them (viewer, DataLink, TAP).

CREATE TABLE qc.ancillary (
    anc_id         bigserial PRIMARY KEY,
    collection     text NOT NULL CHECK (collection ~ '^[A-Za-z0-9][A-Za-z0-9_.+-]*$'),
    path           text NOT NULL UNIQUE,
    filename       text NOT NULL,
    kind           text NOT NULL CHECK (kind IN ('image', 'cube', 'catalogue')),
    format         text NOT NULL,            -- fits, votable, csv, ascii, ecsv
    mime           text NOT NULL,
    size_bytes     bigint NOT NULL,
    mtime          timestamptz NOT NULL,
    checksum       text NOT NULL,            -- 'sha256:<hex>' of the whole file
    instrument     text,
    facility       text,
    band           text,                     -- filter of an image, when the header names it
    n_rows         bigint,                   -- sources of a catalogue
    ra             double precision NOT NULL, -- deg ICRS, centre of the footprint
    dec            double precision NOT NULL,
    footprint      spoly NOT NULL,
    corners        double precision[] NOT NULL,  -- the polygon's (ra, dec) vertices, deg
    -- Ancillary data are public unless registered with an owner group and a release date:
    -- before it, only that group's members (and admins) see them.
    owner_group_id integer REFERENCES qc.groups,
    release_date   date NOT NULL DEFAULT '1970-01-01',
    registered_at  timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ancillary_footprint ON qc.ancillary USING gist (footprint);
CREATE INDEX ancillary_collection ON qc.ancillary (collection);

CREATE FUNCTION qc.may_see_ancillary(p_user_id integer, p_anc_id bigint) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT a.release_date <= current_date
        OR EXISTS (SELECT 1 FROM qc.users u WHERE u.user_id = p_user_id AND u.active
                   AND u.role = 'admin')
        OR EXISTS (SELECT 1 FROM qc.user_groups ug
                   JOIN qc.users u ON u.user_id = ug.user_id AND u.active
                   WHERE ug.user_id = p_user_id AND ug.group_id = a.owner_group_id)
    FROM qc.ancillary a WHERE a.anc_id = p_anc_id
$$;
