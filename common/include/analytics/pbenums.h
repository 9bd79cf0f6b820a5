#ifndef ANALYTICS_PBENUMS_H
#define ANALYTICS_PBENUMS_H

/*
 * The names the database and the JSON outputs give the analytics.v1 enums
 * (common.proto): lower case, without the type's prefix.
 */

/* analytics.v1.Channel: "unknown", "direct", "internal", "organic_search",
 * "paid_search", "social", "email", "referral"; "unknown" out of range. */
const char *pb_channel_name(int channel);

/* analytics.v1.DeviceType: "unknown", "desktop", "mobile", "tablet", "bot";
 * "unknown" out of range. */
const char *pb_device_name(int device_type);

#endif
