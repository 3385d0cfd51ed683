-- Who may see proprietary data: the prototype portal's privilege levels 1-3 mapped onto
-- groups. Before its release date a file is visible to
--   privilege 1: the members of its owner group (the programme's team),
--   privilege 2: also the members of its project's group,
--   privilege 3: also every member of the consortium group;
-- after its release date, to everybody. Admins see everything.

ALTER TABLE qc.files
    ADD COLUMN privilege smallint NOT NULL DEFAULT 2 CHECK (privilege BETWEEN 1 AND 3);

ALTER TABLE qc.projects ADD COLUMN group_id integer REFERENCES qc.groups;

INSERT INTO qc.groups (name, kind, description) VALUES
    ('GTO', 'project', 'members of the GTO production project'),
    ('GTO-DRYRUN', 'project', 'members of the GTO dry-run project')
ON CONFLICT (name) DO NOTHING;

UPDATE qc.projects p SET group_id = g.group_id FROM qc.groups g WHERE g.name = p.name;

-- The rule in one place, for SQL callers (viewer, VO sync, downloads): may user U see file F?
CREATE FUNCTION qc.may_see(p_user_id integer, p_file_id bigint) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT f.release_date <= current_date
        OR EXISTS (SELECT 1 FROM qc.users u WHERE u.user_id = p_user_id AND u.active
                   AND u.role = 'admin')
        OR EXISTS (
            SELECT 1 FROM qc.user_groups ug
            JOIN qc.users u ON u.user_id = ug.user_id AND u.active
            LEFT JOIN qc.projects p ON p.project_id = f.project_id
            LEFT JOIN qc.groups c ON c.name = 'consortium'
            WHERE ug.user_id = p_user_id
              AND (ug.group_id = f.owner_group_id
                   OR (f.privilege >= 2 AND ug.group_id = p.group_id)
                   OR (f.privilege >= 3 AND ug.group_id = c.group_id)))
    FROM qc.files f WHERE f.file_id = p_file_id
$$;
