-- Detailed trade of the latest vintage of each release slot (flow + source name).
-- A file delivered again under the same name with other bytes is a revision: it replaces the
-- earlier vintage here, while the earlier rows stay in core.trade_detailed with their release.
with

loaded_releases as (
    select
        release_id,
        flow,
        source_name,
        received_at
    from meta.releases
    where status = 'loaded'
      and kind = 'detailed_export'
),

ranked as (
    select
        release_id,
        row_number() over (
            partition by flow, source_name
            order by received_at desc, release_id desc
        ) as vintage_rank
    from loaded_releases
)

select trade.*
from core.trade_detailed as trade
inner join ranked using (release_id)
where ranked.vintage_rank = 1
