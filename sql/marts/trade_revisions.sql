-- One row per period, partner, flow and pair of successive vintages whose figure changed: what
-- a revised release changed, and by how much. Detailed exports: a download (flow, month and file
-- name without its publication date) delivered again with other bytes; the value each vintage
-- delivered for a partner is compared (a partner missing from one vintage delivered 0).
-- Preliminary tables: a figure (period, partner, flow) printed again by a later table.
-- US dollars only; vintages in the order of core.releases_in_view (publication date where
-- known, else receipt: meta.release_vintages), so `customs-etl as-of` shows the revisions known
-- by then.
with

vintages as (
    select
        release_id,
        kind,
        flow,
        period,
        slot_name,
        published_on,
        known_on,
        vintage_rank
    from core.releases_in_view
    where currency = 'USD'
),

-- Successive vintages of one download: rank n+1 was replaced by rank n.
detailed_pairs as (
    select
        later.release_id as release_id_after,
        earlier.release_id as release_id_before,
        later.slot_name
    from vintages as later
    inner join vintages as earlier
        on earlier.kind = 'detailed_export'
       and earlier.flow = later.flow
       and earlier.period = later.period
       and earlier.slot_name = later.slot_name
       and earlier.vintage_rank = later.vintage_rank + 1
    where later.kind = 'detailed_export'
),

-- What each release delivered per month, flow and partner (one commodity level per file).
delivered as (
    select release_id, period, flow, partner_code, sum(value) as value
    from core.trade_detailed_totals
    where currency = 'USD'
      -- the years being rebuilt (null: all)
      and (getvariable('touched_periods') is null
           or list_contains(getvariable('touched_periods'), period))
    group by all
),

-- Each pair's rows: what the earlier and the later vintage delivered, side by side.
pair_rows as (
    select pairs.*, delivered.period, delivered.flow, delivered.partner_code,
           delivered.value as value_before, null as value_after
    from detailed_pairs as pairs
    inner join delivered on delivered.release_id = pairs.release_id_before
    union all
    select pairs.*, delivered.period, delivered.flow, delivered.partner_code,
           null as value_before, delivered.value as value_after
    from detailed_pairs as pairs
    inner join delivered on delivered.release_id = pairs.release_id_after
),

detailed_changes as (
    select
        period,
        partner_code,
        flow,
        'detailed' as source_kind,
        slot_name as source_name,
        coalesce(sum(value_before), 0) as value_usd_before,
        coalesce(sum(value_after), 0) as value_usd_after,
        release_id_before,
        release_id_after
    from pair_rows
    group by period, partner_code, flow, slot_name, release_id_before, release_id_after
),

-- Every printing of a preliminary figure of one partner, latest first.
printed as (
    select
        headline.period_start as period,
        headline.partner_code,
        headline.flow,
        headline.release_id,
        case when headline.months_covered = 1 then headline.value_month
             else headline.value_ytd end as value,
        releases.source_name,
        row_number() over (
            partition by headline.period, headline.months_covered, headline.partner_code,
                headline.flow
            order by releases.vintage_key desc
        ) as printing_rank
    from core.trade_preliminary as headline
    inner join core.releases_in_view as releases using (release_id)
    where headline.currency = 'USD'
      and headline.label_kind = 'partner'
      and headline.partner_code is not null
      -- the years being rebuilt (null: all): every printing of a figure has its period_start
      and (getvariable('touched_periods') is null
           or list_contains(getvariable('touched_periods'), headline.period_start))
),

preliminary_changes as (
    select
        later.period,
        later.partner_code,
        later.flow,
        'preliminary' as source_kind,
        later.source_name,
        earlier.value as value_usd_before,
        later.value as value_usd_after,
        earlier.release_id as release_id_before,
        later.release_id as release_id_after
    from printed as later
    inner join printed as earlier
        on earlier.period = later.period
       and earlier.partner_code = later.partner_code
       and earlier.flow = later.flow
       and earlier.printing_rank = later.printing_rank + 1
       and earlier.release_id <> later.release_id
),

changes as (
    select * from detailed_changes
    union all
    select * from preliminary_changes
)

select
    changes.period,
    partners.partner_iso3,
    changes.flow,
    changes.source_kind,
    changes.source_name,
    cast(changes.value_usd_before as bigint) as value_usd_before,
    cast(changes.value_usd_after as bigint) as value_usd_after,
    cast(changes.value_usd_after - changes.value_usd_before as bigint) as change_usd,
    case
        when changes.value_usd_before > 0
            then round(100.0 * (changes.value_usd_after - changes.value_usd_before)
                       / changes.value_usd_before, 2)
    end as change_pct,
    changes.release_id_before,
    changes.release_id_after,
    before_release.published_on as published_on_before,
    after_release.published_on as published_on_after,
    before_release.known_on as known_on_before,
    after_release.known_on as known_on_after
from changes
inner join staging.stg_partners as partners using (partner_code)
inner join vintages as before_release on before_release.release_id = changes.release_id_before
inner join vintages as after_release on after_release.release_id = changes.release_id_after
where changes.value_usd_before is distinct from changes.value_usd_after
order by changes.period, partners.partner_iso3, changes.flow, after_release.known_on
