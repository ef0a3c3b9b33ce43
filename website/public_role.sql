-- The PostgreSQL role of a process that serves the public website alone (PUBLIC_SITE_ONLY):
-- it may read what the website shows and nothing else (README "Production"). Run by the
-- database owner after every `migrate`, with the role's name for :role, in one transaction
-- that stops at the first error:
--   psql -1 -v ON_ERROR_STOP=1 -v role=casetracker_public -f website/public_role.sql casetracker
-- The role is made beforehand: CREATE ROLE casetracker_public LOGIN PASSWORD '…';
-- Tested: tests/test_website_public_role.py applies this file and crawls the site as the role.

-- What an earlier version of this file granted goes first: the grants below are the whole list.
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM :"role";

-- The published documents, their statistics and the organisation's methodology texts.
GRANT SELECT ON snapshots_publishedcase, figures_publishedfacts, figures_publishedfactcharge,
    figures_publishedfactplace, figures_tally, website_methodology, website_publicdownload,
    website_publicportrait TO :"role";
-- The vocabularies the pages name: places and charges.
GRANT SELECT ON cases_location, cases_charge TO :"role";
-- Which places and people a published case names, and which reference was withdrawn when
-- (410 Gone): keys, no content.
GRANT SELECT (id, reference, person_id) ON cases_case TO :"role";
GRANT SELECT (id, case_id, kind, location_id, facility_id) ON cases_detentionevent TO :"role";
GRANT SELECT ON cases_detentionevent_charges TO :"role";
GRANT SELECT (case_id, withdrawn_at) ON cases_publicationrecord TO :"role";
GRANT SELECT (id, uid, place_of_origin_id) ON people_person TO :"role";
GRANT SELECT (id, uid, person_id) ON people_personalias TO :"role";
-- The names search reads (people.matching.search_people).
GRANT SELECT (id, person_id, name, search_name) ON people_personname TO :"role";
GRANT SELECT ON people_personnamekey TO :"role";

-- Row by row: the role sees the counts of published cases only, and the cases, events,
-- people and names of published or withdrawn cases only. Row-level security binds every role
-- but the tables' owner; the policy "others" lets every role that is not the public role, nor a
-- member of it, see every row as before (a staff side that connects as another role than the
-- owner). A backup role other than the owner must dump with row security off (pg_dump
-- --enable-row-security is for the opposite), e.g. as the owner; a restore needs the role made
-- first (the policies name it).
ALTER TABLE figures_tally ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS others ON figures_tally;
CREATE POLICY others ON figures_tally USING (NOT pg_has_role(:'role', 'MEMBER'))
    WITH CHECK (NOT pg_has_role(:'role', 'MEMBER'));
DROP POLICY IF EXISTS public_site ON figures_tally;
CREATE POLICY public_site ON figures_tally FOR SELECT TO :"role" USING (scope = 'published');

ALTER TABLE cases_case ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS others ON cases_case;
CREATE POLICY others ON cases_case USING (NOT pg_has_role(:'role', 'MEMBER'))
    WITH CHECK (NOT pg_has_role(:'role', 'MEMBER'));
DROP POLICY IF EXISTS public_site ON cases_case;
CREATE POLICY public_site ON cases_case FOR SELECT TO :"role" USING (
    EXISTS (SELECT 1 FROM snapshots_publishedcase s WHERE s.case_id = cases_case.id)
    OR EXISTS (SELECT 1 FROM cases_publicationrecord r WHERE r.case_id = cases_case.id));

ALTER TABLE cases_detentionevent ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS others ON cases_detentionevent;
CREATE POLICY others ON cases_detentionevent USING (NOT pg_has_role(:'role', 'MEMBER'))
    WITH CHECK (NOT pg_has_role(:'role', 'MEMBER'));
DROP POLICY IF EXISTS public_site ON cases_detentionevent;
CREATE POLICY public_site ON cases_detentionevent FOR SELECT TO :"role" USING (
    EXISTS (SELECT 1 FROM snapshots_publishedcase s WHERE s.case_id = cases_detentionevent.case_id));

ALTER TABLE cases_detentionevent_charges ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS others ON cases_detentionevent_charges;
CREATE POLICY others ON cases_detentionevent_charges USING (NOT pg_has_role(:'role', 'MEMBER'))
    WITH CHECK (NOT pg_has_role(:'role', 'MEMBER'));
DROP POLICY IF EXISTS public_site ON cases_detentionevent_charges;
CREATE POLICY public_site ON cases_detentionevent_charges FOR SELECT TO :"role" USING (
    EXISTS (SELECT 1 FROM cases_detentionevent e JOIN snapshots_publishedcase s
            ON s.case_id = e.case_id WHERE e.id = cases_detentionevent_charges.detentionevent_id));

ALTER TABLE people_person ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS others ON people_person;
CREATE POLICY others ON people_person USING (NOT pg_has_role(:'role', 'MEMBER'))
    WITH CHECK (NOT pg_has_role(:'role', 'MEMBER'));
DROP POLICY IF EXISTS public_site ON people_person;
CREATE POLICY public_site ON people_person FOR SELECT TO :"role" USING (
    EXISTS (SELECT 1 FROM cases_case c JOIN snapshots_publishedcase s ON s.case_id = c.id
            WHERE c.person_id = people_person.id));

ALTER TABLE people_personname ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS others ON people_personname;
CREATE POLICY others ON people_personname USING (NOT pg_has_role(:'role', 'MEMBER'))
    WITH CHECK (NOT pg_has_role(:'role', 'MEMBER'));
DROP POLICY IF EXISTS public_site ON people_personname;
CREATE POLICY public_site ON people_personname FOR SELECT TO :"role" USING (
    EXISTS (SELECT 1 FROM cases_case c JOIN snapshots_publishedcase s ON s.case_id = c.id
            WHERE c.person_id = people_personname.person_id));

ALTER TABLE people_personnamekey ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS others ON people_personnamekey;
CREATE POLICY others ON people_personnamekey USING (NOT pg_has_role(:'role', 'MEMBER'))
    WITH CHECK (NOT pg_has_role(:'role', 'MEMBER'));
DROP POLICY IF EXISTS public_site ON people_personnamekey;
CREATE POLICY public_site ON people_personnamekey FOR SELECT TO :"role" USING (
    EXISTS (SELECT 1 FROM people_personname n JOIN cases_case c ON c.person_id = n.person_id
            JOIN snapshots_publishedcase s ON s.case_id = c.id
            WHERE n.id = people_personnamekey.name_id));
