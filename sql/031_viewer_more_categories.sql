-- Every category in the catalogue is reachable from the nightly summary: standard stars
-- (raw STD frames), white-light images (IMAGE_FOV) and extracted spectra (SPECTRUM_1D)
-- get columns of their own (group OTHER); the counts are recomputed for every night.
CREATE OR REPLACE FUNCTION qc.viewer_raw_category(p_catg text, p_type text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN p_catg = 'SCIENCE' THEN 'science_raw'
        WHEN p_type = 'BIAS' THEN 'bias_raw' WHEN p_type = 'DARK' THEN 'dark_raw'
        WHEN p_type LIKE 'FLAT%' THEN 'flat_raw' WHEN p_type = 'WAVE' THEN 'wave_raw'
        WHEN p_type LIKE 'STD%' THEN 'std_raw' END
$$;

CREATE OR REPLACE FUNCTION qc.viewer_product_category(p_catg text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE p_catg
        WHEN 'PIXTABLE_OBJECT' THEN 'science_scibasic' WHEN 'OBJECT_RED' THEN 'science_scibasic'
        WHEN 'DATACUBE_FINAL' THEN 'science_scipost'
        WHEN 'MASTER_BIAS' THEN 'bias_red' WHEN 'MASTER_DARK' THEN 'dark_red'
        WHEN 'MASTER_FLAT' THEN 'flat_red' WHEN 'WAVECAL_TABLE' THEN 'wave_red'
        WHEN 'IMAGE_FOV' THEN 'image_fov' WHEN 'SPECTRUM_1D' THEN 'spectrum_1d' END
$$;

INSERT INTO qc.viewer_dirty_nights (night) VALUES (NULL);
