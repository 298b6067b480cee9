-- The role and database the core nodes' journal uses. Run once, as a PostgreSQL superuser, on the database server:
--
--   sudo -u postgres psql -v password='a long random secret' -f setup.sql
--
-- then give the core nodes the same password in PROVISIONER_DB (/etc/provisioner/provisioner.env):
--   PROVISIONER_DB="Host=<db>;Port=5432;Database=provisioner;Username=provisioner;Password=<secret>"
--
-- No tables here: the first core node to start creates the journal and snapshot tables itself (the journal's
-- auto-initialisation), which is why the role owns its database. Safe to run again: an existing role gets the new
-- password, an existing database is left as it is.

\set ON_ERROR_STOP on

\if :{?password}
\else
  DO $$ BEGIN RAISE EXCEPTION 'setup.sql: no password: run psql -v password=''...'' -f setup.sql'; END $$;
\endif

SELECT 'CREATE ROLE provisioner' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'provisioner') \gexec
ALTER ROLE provisioner WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'password';

SELECT 'CREATE DATABASE provisioner OWNER provisioner ENCODING ''UTF8'' TEMPLATE template0'
  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'provisioner') \gexec

-- Only the provisioner role connects to it.
REVOKE ALL ON DATABASE provisioner FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE provisioner TO provisioner;

\connect provisioner
-- The journal's tables go in the public schema, which the role must be able to create in (PostgreSQL 15 and later no
-- longer let every role do that).
ALTER SCHEMA public OWNER TO provisioner;
