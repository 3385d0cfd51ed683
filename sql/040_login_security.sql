-- Logins that resist guessing, and sessions bound to the credentials.
--
-- Throttling policy (the one place it is stated; docs/operations.md explains it):
-- failed logins are counted over a sliding window of 5 minutes, per account name and per
-- client address, on every login path (viewer form, /files basic auth, DaCHS basic auth).
-- From the 10th failure of an account, or the 30th of an address, within the window, further
-- attempts are answered 429 (Retry-After) without looking at the password, until enough
-- failures have left the window. Refused attempts are not counted, so once the guessing
-- stops nobody is kept out longer than the window. The attempt that reaches a limit writes
-- one qc.audit_log row (action 'login_throttled').

CREATE TABLE qc.login_failures (
    at        timestamptz NOT NULL DEFAULT now(),
    username  text NOT NULL,
    address   text NOT NULL,
    channel   text NOT NULL            -- 'viewer', 'files' or 'vo'
);
CREATE INDEX login_failures_user ON qc.login_failures (username, at);
CREATE INDEX login_failures_address ON qc.login_failures (address, at);

CREATE FUNCTION qc.login_policy(OUT window_s integer, OUT per_account integer,
                                OUT per_address integer)
LANGUAGE sql IMMUTABLE AS $$ SELECT 300, 10, 30 $$;

-- Seconds to wait before the next attempt of this account from this address (0: go on).
CREATE FUNCTION qc.login_wait(p_username text, p_address text) RETURNS integer
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = qc, pg_temp AS $$
    WITH pol AS (SELECT * FROM qc.login_policy()),
    nth AS (   -- the failure whose leaving the window lifts the limit
        (SELECT f.at, pol.window_s FROM qc.login_failures f, pol
         WHERE f.username = p_username AND f.at > now() - make_interval(secs => pol.window_s)
         ORDER BY f.at DESC OFFSET (SELECT per_account - 1 FROM pol) LIMIT 1)
        UNION ALL
        (SELECT f.at, pol.window_s FROM qc.login_failures f, pol
         WHERE f.address = p_address AND f.at > now() - make_interval(secs => pol.window_s)
         ORDER BY f.at DESC OFFSET (SELECT per_address - 1 FROM pol) LIMIT 1))
    SELECT coalesce(max(ceil(extract(epoch FROM
               nth.at + make_interval(secs => nth.window_s) - now())))::integer, 0)
    FROM nth
$$;

-- Record a failed attempt; returns the wait it causes (and audits the one reaching a limit).
CREATE FUNCTION qc.login_failed(p_username text, p_address text, p_channel text)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = qc, pg_temp AS $$
DECLARE
    before integer := qc.login_wait(p_username, p_address);
    after integer;
BEGIN
    DELETE FROM qc.login_failures WHERE at < now() - interval '1 day';
    INSERT INTO qc.login_failures (username, address, channel)
        VALUES (left(p_username, 200), left(p_address, 100), p_channel);
    after := qc.login_wait(p_username, p_address);
    IF before = 0 AND after > 0 THEN
        INSERT INTO qc.audit_log (actor, action, new_value, comment)
        VALUES (left(p_username, 200), 'login_throttled',
                jsonb_build_object('address', p_address, 'channel', p_channel,
                                   'retry_after', after),
                'too many failed logins: further attempts refused for a while');
    END IF;
    RETURN after;
END $$;

-- A new password or role ends every session of the user (deactivation already does).
CREATE FUNCTION qc.end_sessions_on_credentials() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM qc.viewer_sessions WHERE user_id = NEW.user_id;
    RETURN NEW;
END $$;
CREATE TRIGGER users_credentials_end_sessions
    AFTER UPDATE OF password_hash, role ON qc.users FOR EACH ROW
    WHEN (OLD.password_hash IS DISTINCT FROM NEW.password_hash OR OLD.role IS DISTINCT FROM NEW.role)
    EXECUTE FUNCTION qc.end_sessions_on_credentials();
