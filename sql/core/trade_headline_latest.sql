-- Preliminary figures, the latest vintage of each: per period, partner label, flow and
-- currency, the row of the most recently published (else received) table that has it.
with

ranked as (
    select
        headline.*,
        releases.known_on,
        row_number() over (
            partition by
                headline.period,
                headline.months_covered,
                lower(regexp_replace(headline.partner_label, '[^0-9A-Za-z]', '', 'g')),
                headline.flow,
                headline.currency
            order by releases.known_on desc, releases.received_at desc, headline.release_id desc
        ) as figure_rank
    from core.trade_headline as headline
    inner join core.releases_in_view as releases using (release_id)
)

select
    * exclude (figure_rank),
    -- the figure for the row's span: the month, or the January-February cumulative
    case when months_covered = 1 then value_month else value_ytd end as value
from ranked
where figure_rank = 1
