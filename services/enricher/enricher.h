#ifndef ENRICHER_ENRICHER_H
#define ENRICHER_ENRICHER_H

/* The enricher: raw events become enriched events (issue 4). Its pure-logic
 * modules: ua.h (user agents), bot.h (bots), geo.h (IP to country and
 * truncation), classify.h (channel, campaign, page). */

#endif
