#ifndef ANALYTICS_BGNBD_MODEL_H
#define ANALYTICS_BGNBD_MODEL_H

/*
 * A fitted BG/NBD model's file: what analytics-train writes and the scorer
 * loads. One JSON object:
 *
 *   {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426,
 *    "log_likelihood": -9582.4, "customers": 2357, "unit": "week",
 *    "calibration_end": "1997-09-30", "model_version": "bgnbd-0123456789abcdef",
 *    "basis": "transactions"}
 */

#include "analytics/bgnbd.h"

#include <stddef.h>

struct cJSON;

#define BGNBD_VERSION_LEN 32 /* "bgnbd-" and 16 hex digits, with room */

/* A fitted model as its file holds it. */
struct bgnbd_model {
    struct bgnbd_params params;
    double log_likelihood;
    long long customers;
    enum bgnbd_unit unit;
    char calibration_end[16]; /* YYYY-MM-DD: the last day the fit saw */
    char model_version[BGNBD_VERSION_LEN];
    enum bgnbd_basis basis;
};

/* Writes into out the model version of params in unit: "bgnbd-" and the
 * 64-bit FNV-1a hash, in hex, of the text "r,alpha,a,b,unit" with each
 * number printed %.15g (cJSON writes 15 significant digits when they read
 * back as nearly the same number, so a model read from its file keeps its
 * version). Same parameters, same version. */
void bgnbd_model_version(const struct bgnbd_params *p, enum bgnbd_unit unit,
                         char out[BGNBD_VERSION_LEN]);

/* The model as a JSON object (keys r, alpha, a, b, log_likelihood,
 * customers, unit, calibration_end, model_version, basis). Returns a new
 * object (caller frees with cJSON_Delete), or NULL when memory runs out. */
struct cJSON *bgnbd_model_json(const struct bgnbd_model *m);

/* Writes the model to path as indented JSON, through a temporary file in
 * the same directory renamed over path, so path is either the old file or
 * the whole new one. Returns 0, or BGNBD_ERR_IO with the reason in err
 * ("<path>: <why>"). */
int bgnbd_model_write(const struct bgnbd_model *m, const char *path, char *err, size_t errlen);

/* Reads a model file (at most 64 KiB). Every key above is required and
 * checked (parameters finite and > 0, customers a whole number >= 1, a known
 * unit and basis, a real date, model_version that of the parameters);
 * other keys are ignored. Returns 0, BGNBD_ERR_IO when the file cannot be
 * read, or BGNBD_ERR_DATA when it is not such a model, with the reason in
 * err ("<path>: ..." naming the key). */
int bgnbd_model_read(struct bgnbd_model *m, const char *path, char *err, size_t errlen);

#endif
