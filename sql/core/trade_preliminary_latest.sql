-- Preliminary figures, the latest vintage of each: per period, partner label, flow and
-- currency, the row of the most recently published (else received) table that has it.
with

ranked as (
    select
        preliminary.*,
        releases.known_on,
        row_number() over (
            partition by
                preliminary.period,
                preliminary.months_covered,
                preliminary.partner_key,
                preliminary.flow,
                preliminary.currency
            order by releases.vintage_key desc
        ) as figure_rank
    from core.trade_preliminary as preliminary
    inner join core.releases_in_view as releases using (release_id)
)

select
    * exclude (figure_rank),
    -- the figure for the row's span: the month, or the January-February cumulative
    case when months_covered = 1 then value_month else value_ytd end as value
from ranked
where figure_rank = 1
