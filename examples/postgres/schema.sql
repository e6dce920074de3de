-- vlsink positions in PostgreSQL: one row per record.
--
--   psql -d DBNAME -v ON_ERROR_STOP=1 -f examples/postgres/schema.sql
--
-- The columns are vlsink's CSV columns in the same order
-- (vehicle,time,lat,lon,speed,course,alt,format,peer), so that
-- examples/postgres/vlsink-pgload.sh can COPY them without a column list
-- beyond these nine.  Unknown values are NULL.  Tested with PostgreSQL 15
-- (tests/examples.bats).

CREATE TABLE IF NOT EXISTS positions (
    vehicle     text,                        -- NULL only for a pipe without --vehicle
    fix_time    timestamptz      NOT NULL,   -- the fix time of the sentence, UTC
    lat         double precision NOT NULL CHECK (lat BETWEEN -90 AND 90),
    lon         double precision NOT NULL CHECK (lon BETWEEN -180 AND 180),
    speed_mps   real,                        -- speed over ground, m/s
    course_deg  real,                        -- course over ground, degrees true
    alt_m       real,                        -- altitude above mean sea level, m
    format      text             NOT NULL,   -- nmea-rmc, nmea-gga, nmea-gll, gpsd-tpv, csv
    peer        text,                        -- address:port of the connection
    loaded_at   timestamptz      NOT NULL DEFAULT now()
);

-- "Where was vehicle X between T1 and T2" and "last position of X".
CREATE INDEX IF NOT EXISTS positions_vehicle_time ON positions (vehicle, fix_time);

-- Last known position of every vehicle:
--   SELECT * FROM last_positions ORDER BY vehicle;
CREATE OR REPLACE VIEW last_positions AS
    SELECT DISTINCT ON (vehicle) vehicle, fix_time, lat, lon, speed_mps, course_deg
    FROM positions
    ORDER BY vehicle, fix_time DESC;
