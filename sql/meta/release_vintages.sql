-- Every release in the registry with its slot and its place among the vintages of that slot,
-- the one rule everything that picks a latest vintage orders by (`order by vintage_key desc`):
-- a release is known from its publication date where its name or page gives one, else from
-- the day the job received it; the later known wins, then the later received, then the larger
-- checksum (only so that the order is total). A slot is one download for a detailed export
-- (flow, month and file name without its publication date) and one period and currency for a
-- preliminary table. DDL: applied before each run, so the loader's checks can use it too.
create or replace view meta.release_vintages as
select
    *,
    coalesce(slot_name, source_name) as slot,
    coalesce(published_on, cast(received_at as date)) as known_on,
    {
        'known_on': coalesce(published_on, cast(received_at as date)),
        'received_at': received_at,
        'release_id': release_id
    } as vintage_key
from meta.releases;
