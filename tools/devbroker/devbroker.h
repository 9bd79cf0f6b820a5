#ifndef ANALYTICS_DEVBROKER_H
#define ANALYTICS_DEVBROKER_H

/*
 * An in-memory Kafka cluster for development and tests: librdkafka's mock
 * cluster, hosted by a producer handle that does nothing else. Plaintext,
 * listeners on 127.0.0.1 with ports the kernel picks, nothing on disk.
 */

#include <stddef.h>

struct devbroker;

/* The pipeline topics (DESIGN.md "Topics and messages"), without the prefix.
 * NULL-terminated, static. */
extern const char *const devbroker_pipeline_topics[];

/* Starts a cluster of broker_cnt brokers (ids 1..broker_cnt). Call with
 * the daemon's signals already blocked: librdkafka starts threads here.
 * Returns a new cluster (caller frees with devbroker_free), or NULL with the
 * reason in err. */
struct devbroker *devbroker_new(int broker_cnt, char *err, size_t errlen);

/* Creates topic with partition_cnt partitions and replication factor
 * min(brokers, 3). Returns 0, or -1 with the reason in err. Creating an
 * existing topic is an error. */
int devbroker_create_topic(struct devbroker *b, const char *topic, int partition_cnt, char *err,
                           size_t errlen);

/* The bootstrap string, "127.0.0.1:port,...". Borrowed; valid until
 * devbroker_free. */
const char *devbroker_bootstraps(const struct devbroker *b);

/* Takes every broker down (up = 0: connections closed, new ones refused) or
 * brings them back (up = 1). Ports and topic data are kept. Returns 0 or -1
 * (logged). */
int devbroker_set_up(struct devbroker *b, int up);

/* Destroys the cluster and its host handle. Accepts NULL. */
void devbroker_free(struct devbroker *b);

/* Writes text and a newline to path atomically: a temporary file in the same
 * directory, fsync, then rename over path. Returns 0, or -1 with the reason
 * in err (the temporary file is removed). */
int devbroker_write_file(const char *path, const char *text, char *err, size_t errlen);

#endif
