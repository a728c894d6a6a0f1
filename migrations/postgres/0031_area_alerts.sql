-- Alerts for an area (FixMyStreet's "local alerts"): someone is told of each new public report
-- in a district, or within a radius of a point, of one service or any, by e-mail (once the
-- mailed link is confirmed) or by Web Push on their phone (push_subscriptions, subject 'area').
-- `base` is the address they subscribed through, for the links in what they are sent; the
-- token is the one-click way out.
CREATE TABLE area_alerts (
    id BIGSERIAL PRIMARY KEY,
    channel TEXT NOT NULL CHECK (channel IN ('email', 'push')),
    address TEXT NOT NULL DEFAULT '',
    service_code TEXT,
    district TEXT REFERENCES districts(slug),
    lat DOUBLE PRECISION,
    long DOUBLE PRECISION,
    radius_m BIGINT,
    lang TEXT NOT NULL,
    base TEXT NOT NULL,
    token TEXT NOT NULL UNIQUE,
    confirmed_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL,
    CHECK ((district IS NOT NULL) <> (lat IS NOT NULL AND long IS NOT NULL AND radius_m IS NOT NULL))
);
CREATE INDEX area_alerts_district ON area_alerts(district);
CREATE INDEX area_alerts_address ON area_alerts(address);
