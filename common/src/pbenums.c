#include "analytics/pbenums.h"

static const char *const pb_channels[] = {"unknown",     "direct", "internal", "organic_search",
                                          "paid_search", "social", "email",    "referral"};
static const char *const pb_devices[] = {"unknown", "desktop", "mobile", "tablet", "bot"};

const char *pb_channel_name(int channel)
{
    return channel >= 0 && channel < (int)(sizeof(pb_channels) / sizeof(pb_channels[0]))
               ? pb_channels[channel]
               : "unknown";
}

const char *pb_device_name(int device_type)
{
    return device_type >= 0 && device_type < (int)(sizeof(pb_devices) / sizeof(pb_devices[0]))
               ? pb_devices[device_type]
               : "unknown";
}
