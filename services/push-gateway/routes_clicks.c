/* The clicks route: where on a page visitors click, from the tracker's
 * click events (event_data x and y in page pixels, page_w the page's
 * width), for the dashboard's heatmap. */
#include "routes_priv.h"

#include <stdio.h>

#define CLICKS_COLUMNS 20 /* the page's width in this many columns */
#define CLICKS_ROW_PX 100 /* rows of this many pixels down the page */
#define CLICKS_ROWS 100   /* rows below the last are counted in the last */
#define CLICKS_PAGES 20   /* pages listed, most clicked first */

const char *const route_clicks_names[] = {"page", "from", "to", NULL};

/* Clicks of people (bots left out) in from..to (default the last 7 days)
 * that carry their position: the pages with the most (host and path, as
 * realtime's top pages name them), and with page= that page's clicks in a
 * grid of CLICKS_COLUMNS columns (x / page_w) by rows of CLICKS_ROW_PX
 * pixels (y), the cells with none left out. */
int route_clicks(struct gw_req *r)
{
    struct gw_range range;
    char page[GW_VALUE_MAX], cols[8], rowpx[8], rows[8], npages[8];
    int rc = gw_check_names(r, route_clicks_names), got;

    if (rc == 0) {
        rc = gw_param_range(r, 7, &range);
    }
    if (rc != 0) {
        return rc;
    }
    got = gw_param(r, "page", page, sizeof(page));
    if (got > 1) {
        return got;
    }
    snprintf(cols, sizeof(cols), "%d", CLICKS_COLUMNS);
    snprintf(rowpx, sizeof(rowpx), "%d", CLICKS_ROW_PX);
    snprintf(rows, sizeof(rows), "%d", CLICKS_ROWS);
    snprintf(npages, sizeof(npages), "%d", CLICKS_PAGES);
    const char *params[] = {
        range.from, range.to, got == 1 && page[0] != '\0' ? page : NULL, cols, rowpx, rows, npages};
    return gw_json_query(
        r, "clicks",
        "WITH c AS ("
        "  SELECT coalesce(e.page_host, '') || e.page_path AS page,"
        "         (e.event_data->>'x')::double precision AS x,"
        "         (e.event_data->>'y')::double precision AS y,"
        "         (e.event_data->>'page_w')::double precision AS w"
        "    FROM analytics_events e"
        "   WHERE e.event_time >= $1::timestamptz AND e.event_time < $2::timestamptz"
        "     AND e.event_type = 'click' AND NOT e.is_bot AND e.page_path IS NOT NULL"
        "     AND jsonb_typeof(e.event_data->'x') = 'number'"
        "     AND jsonb_typeof(e.event_data->'y') = 'number'"
        "     AND jsonb_typeof(e.event_data->'page_w') = 'number'"
        "     AND (e.event_data->>'page_w')::double precision > 0),"
        " p AS (SELECT * FROM c WHERE c.page = $3::text)"
        " SELECT json_build_object('from', $1::timestamptz, 'to', $2::timestamptz,"
        "  'page', $3::text, 'columns', $4::int, 'row_px', $5::int, 'rows', $6::int,"
        "  'clicks', (SELECT count(*) FROM p),"
        "  'pages', coalesce((SELECT json_agg(json_build_object('page', t.page, 'clicks', t.n)"
        "     ORDER BY t.n DESC, t.page) FROM (SELECT page, count(*) AS n FROM c GROUP BY page"
        "     ORDER BY n DESC, page LIMIT $7::int) t), '[]'::json),"
        "  'cells', coalesce((SELECT json_agg(json_build_object('column', b.col, 'row', b.row,"
        "     'clicks', b.n) ORDER BY b.row, b.col) FROM ("
        "       SELECT least($4::int - 1, greatest(0, floor(x / w * $4::int)))::int AS col,"
        "              least($6::int - 1, greatest(0, floor(y / $5::int)))::int AS row,"
        "              count(*) AS n"
        "         FROM p GROUP BY 1, 2) b), '[]'::json))::text",
        7, params, NULL);
}
