#ifndef LOADGEN_AGENTS_H
#define LOADGEN_AGENTS_H

/*
 * The user agents synthetic visitors wear: browser agents taken from
 * uap-core's test suite (Debian's uap-core package), and a handful of
 * well-known crawlers written here. Indexes 0..browsers-1 are browsers, the
 * rest crawlers.
 */

#include <stdbool.h>
#include <stddef.h>

#define LOADGEN_AGENTS_FILE "/usr/share/uap-core/tests/test_ua.yaml"

struct loadgen_agents;

/* Reads every `user_agent_string:` line of a uap-core test file (single- or
 * double-quoted or plain) and keeps the browser-like ones: starting with
 * "Mozilla/" or "Opera/", printable ASCII, at most 400 bytes, and without a
 * crawler's words (bot, spider, http, ...). Duplicates are dropped; the
 * order is sorted, so it does not depend on the file's order. Returns a new
 * list (caller frees with loadgen_agents_free), or NULL with the reason in
 * err when the file cannot be read or holds no usable agent. */
struct loadgen_agents *loadgen_agents_load(const char *path, char *err, size_t errlen);

/* Builds a list from n browser agents (copied; kept as given, unfiltered).
 * Returns a new list (caller frees with loadgen_agents_free), or NULL when
 * n is 0 or out of memory. For tests. */
struct loadgen_agents *loadgen_agents_from(const char *const *browsers, size_t n);

/* Browser agents in the list. */
size_t loadgen_agents_browsers(const struct loadgen_agents *a);

/* Browser agents plus crawler agents. */
size_t loadgen_agents_total(const struct loadgen_agents *a);

/* Agent i (i < loadgen_agents_total). Borrowed; valid until
 * loadgen_agents_free. */
const char *loadgen_agents_get(const struct loadgen_agents *a, size_t i);

/* True when agent i is one of the crawlers. */
bool loadgen_agents_is_bot(const struct loadgen_agents *a, size_t i);

/* True when a user agent string looks like a crawler's or a tool's by its
 * words (what loadgen_agents_load leaves out). */
bool loadgen_agents_crawler_words(const char *ua);

/* Frees the list. Accepts NULL. */
void loadgen_agents_free(struct loadgen_agents *a);

#endif
