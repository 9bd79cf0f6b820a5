#ifndef PUSH_GATEWAY_WS_H
#define PUSH_GATEWAY_WS_H

/*
 * /api/analytics/ws on the public listener (civetweb's WebSocket): each
 * connection a ws_session (ws_proto.h) and a hub client (hub.h). civetweb's
 * thread for the connection reads its frames; a writer thread of its own
 * takes the client's queue and writes, so a slow reader stalls only its own
 * writer, and the hub drops for it alone. Frames a client may not send
 * (binary, fragmented, over the frame limit, bad protocol) get an error
 * message; those that break the protocol or the auth rule also close it.
 */

#include <stddef.h>

#include "hub.h"
#include "tokens.h"

struct mg_context;
struct metrics;
struct gw_ws;

struct cors;

struct gw_ws_opts {
    struct hub *hub;
    const struct tokens *tokens;
    const struct cors *cors; /* borrowed: origins besides the page's own that may connect */
    int max_clients;         /* connections at once; more are refused at the handshake */
    int auth_timeout_ms;     /* a connection must authenticate within this */
    double rate, burst;      /* control messages a second, and at once */
    struct metrics *metrics;
};

/* Registers the handler on ctx. Returns the state (freed by gw_ws_free
 * after the server stopped), or NULL. */
struct gw_ws *gw_ws_register(struct mg_context *ctx, const struct gw_ws_opts *o);
int gw_ws_clients(const struct gw_ws *w);
void gw_ws_free(struct gw_ws *w);

#endif
