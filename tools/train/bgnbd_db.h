#ifndef TRAIN_BGNBD_DB_H
#define TRAIN_BGNBD_DB_H

/*
 * The site's own visits as BG/NBD transactions, read from the sessions
 * table the journey-builder keeps (deploy/sql/002_sessions_and_journeys.sql).
 *
 * A customer is a visitor (sessions.fingerprint) and a transaction a UTC day
 * (of sessions.started_at) on which they had:
 *   - sessions: a session at all;
 *   - bookings: a converted session (sessions.converted: one of the site's
 *     conversion events of deploy/config/journeys.json, booking_completed by
 *     default, happened in it).
 * Bot sessions (is_bot) never count. Only sessions that started on or
 * before the calibration-end day (UTC) are read.
 */

#include "bgnbd_data.h"

#include <libpq-fe.h>
#include <stddef.h>

#define BGNBD_DB_ERR_QUERY (-3) /* the database failed the query (reason in err) */

/* Reads the transactions of basis (sessions or bookings) up to day cal_end,
 * days counted in the IANA time zone zone (the site's), and builds their summaries in unit into out
 * (bgnbd_data_build's order: by fingerprint, bytewise). Returns 0, BGNBD_DATA_ERR_DATA when there
 * are none ("no sessions on or before 2026-01-31"), BGNBD_DATA_ERR_NOMEM, or BGNBD_DB_ERR_QUERY,
 * with the reason in err. Release out with bgnbd_data_fini, whatever the result. */
int bgnbd_db_load(PGconn *conn, enum bgnbd_basis basis, long long cal_end, const char *zone,
                  enum bgnbd_unit unit, struct bgnbd_data *out, char *err, size_t errlen);

#endif
