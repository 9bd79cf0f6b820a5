#ifndef JOURNEY_STORE_PRIV_H
#define JOURNEY_STORE_PRIV_H

/*
 * What the files of the store share. store.c: the store and its set-up on
 * each connection; store_load.c: reading states back; store_archive.c:
 * archiving events; store_write.c: writing what a batch produced;
 * store_due.c: partitions, retention and states falling due. Statements
 * go through the sink (analytics/pgsink.h). Not for anyone else: the
 * contract is store.h.
 */

#include "store.h"

#include "analytics/copybuf.h"
#include "analytics/pgsink.h"

struct store {
    struct pgsink *sink; /* borrowed: the connection, errors, statements */
    const struct apply_ctx *ctx;
    struct copybuf buf; /* rows of the COPY being built */
    struct copybuf sub; /* the archive rows of a batch not archived yet */
};

#endif
