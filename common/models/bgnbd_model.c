/* A fitted BG/NBD model's file. See analytics/bgnbd_model.h. */
#include "analytics/bgnbd_model.h"

#include "analytics/errbuf.h"
#include "analytics/fileio.h"
#include "analytics/textcheck.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BGNBD_MODEL_MAX_BYTES ((size_t)64 * 1024)

void bgnbd_model_version(const struct bgnbd_params *p, enum bgnbd_unit unit,
                         char out[BGNBD_VERSION_LEN])
{
    char text[160];
    uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a 64 offset basis */
    int n = snprintf(text, sizeof(text), "%.15g,%.15g,%.15g,%.15g,%s", p->r, p->alpha, p->a, p->b,
                     bgnbd_unit_name(unit));

    for (int i = 0; i < n && i < (int)sizeof(text); i++) {
        h ^= (unsigned char)text[i];
        h *= 0x100000001b3ULL; /* FNV-1a 64 prime */
    }
    snprintf(out, BGNBD_VERSION_LEN, "bgnbd-%016" PRIx64, h);
}

struct cJSON *bgnbd_model_json(const struct bgnbd_model *m)
{
    cJSON *o = cJSON_CreateObject();

    if (o == NULL || cJSON_AddNumberToObject(o, "r", m->params.r) == NULL ||
        cJSON_AddNumberToObject(o, "alpha", m->params.alpha) == NULL ||
        cJSON_AddNumberToObject(o, "a", m->params.a) == NULL ||
        cJSON_AddNumberToObject(o, "b", m->params.b) == NULL ||
        cJSON_AddNumberToObject(o, "log_likelihood", m->log_likelihood) == NULL ||
        cJSON_AddNumberToObject(o, "customers", (double)m->customers) == NULL ||
        cJSON_AddStringToObject(o, "unit", bgnbd_unit_name(m->unit)) == NULL ||
        cJSON_AddStringToObject(o, "calibration_end", m->calibration_end) == NULL ||
        cJSON_AddStringToObject(o, "model_version", m->model_version) == NULL ||
        cJSON_AddStringToObject(o, "basis", bgnbd_basis_name(m->basis)) == NULL) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

int bgnbd_model_write(const struct bgnbd_model *m, const char *path, char *err, size_t errlen)
{
    cJSON *doc = bgnbd_model_json(m);
    char *text = doc != NULL ? cJSON_Print(doc) : NULL;
    int rc = BGNBD_ERR_IO;

    if (text == NULL) {
        errbuf_printf(err, errlen, "%s: out of memory", path);
    } else if (fileio_write_atomic(path, text, strlen(text), true, err, errlen) == 0) {
        rc = 0;
    }
    free(text);
    cJSON_Delete(doc);
    return rc;
}

/* The number at key, into *out. Returns 0, or BGNBD_ERR_DATA with the
 * reason (what = "a number > 0", "a number"). */
static int bgnbd_model_number(const cJSON *root, const char *key, bool positive, double *out,
                              const char *path, char *err, size_t errlen)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(root, key);

    if (item == NULL) {
        errbuf_printf(err, errlen, "%s: \"%s\" is missing", path, key);
        return BGNBD_ERR_DATA;
    }
    if (!cJSON_IsNumber(item) || !isfinite(item->valuedouble) ||
        (positive && !(item->valuedouble > 0))) {
        errbuf_printf(err, errlen, "%s: \"%s\" must be %s", path, key,
                      positive ? "a number > 0" : "a finite number");
        return BGNBD_ERR_DATA;
    }
    *out = item->valuedouble;
    return 0;
}

/* The string at key. Returns it (borrowed from root), or NULL with the
 * reason in err. */
static const char *bgnbd_model_string(const cJSON *root, const char *key, const char *path,
                                      char *err, size_t errlen)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(root, key);

    if (item == NULL) {
        errbuf_printf(err, errlen, "%s: \"%s\" is missing", path, key);
        return NULL;
    }
    if (!cJSON_IsString(item)) {
        errbuf_printf(err, errlen, "%s: \"%s\" must be a string", path, key);
        return NULL;
    }
    return item->valuestring;
}

/* The numbers of the model: parameters, log_likelihood, customers. */
static int bgnbd_model_numbers(const cJSON *root, struct bgnbd_model *m, const char *path,
                               char *err, size_t errlen)
{
    double customers;

    if (bgnbd_model_number(root, "r", true, &m->params.r, path, err, errlen) != 0 ||
        bgnbd_model_number(root, "alpha", true, &m->params.alpha, path, err, errlen) != 0 ||
        bgnbd_model_number(root, "a", true, &m->params.a, path, err, errlen) != 0 ||
        bgnbd_model_number(root, "b", true, &m->params.b, path, err, errlen) != 0 ||
        bgnbd_model_number(root, "log_likelihood", false, &m->log_likelihood, path, err, errlen) !=
            0 ||
        bgnbd_model_number(root, "customers", true, &customers, path, err, errlen) != 0) {
        return BGNBD_ERR_DATA;
    }
    if (customers != floor(customers) || customers > 1e15) {
        errbuf_printf(err, errlen, "%s: \"customers\" must be a whole number >= 1", path);
        return BGNBD_ERR_DATA;
    }
    m->customers = (long long)customers;
    return 0;
}

/* The strings of the model: unit, calibration_end, basis, model_version. */
static int bgnbd_model_strings(const cJSON *root, struct bgnbd_model *m, const char *path,
                               char *err, size_t errlen)
{
    const char *unit, *end, *basis, *version;
    char expect[BGNBD_VERSION_LEN];
    long long day;

    if ((unit = bgnbd_model_string(root, "unit", path, err, errlen)) == NULL ||
        (end = bgnbd_model_string(root, "calibration_end", path, err, errlen)) == NULL ||
        (basis = bgnbd_model_string(root, "basis", path, err, errlen)) == NULL ||
        (version = bgnbd_model_string(root, "model_version", path, err, errlen)) == NULL) {
        return BGNBD_ERR_DATA;
    }
    if (bgnbd_unit_parse(unit, &m->unit) != 0) {
        errbuf_printf(err, errlen, "%s: \"unit\" is \"%.32s\": expected day or week", path, unit);
        return BGNBD_ERR_DATA;
    }
    if (textcheck_date(end, &day) != 0) {
        errbuf_printf(err, errlen, "%s: \"calibration_end\" is \"%.32s\": expected YYYY-MM-DD",
                      path, end);
        return BGNBD_ERR_DATA;
    }
    snprintf(m->calibration_end, sizeof(m->calibration_end), "%s", end);
    if (bgnbd_basis_parse(basis, &m->basis) != 0) {
        errbuf_printf(err, errlen,
                      "%s: \"basis\" is \"%.32s\": expected transactions, sessions or bookings",
                      path, basis);
        return BGNBD_ERR_DATA;
    }
    bgnbd_model_version(&m->params, m->unit, expect);
    if (strcmp(version, expect) != 0) {
        errbuf_printf(err, errlen,
                      "%s: \"model_version\" is \"%.32s\", but the parameters' version is %s "
                      "(edited by hand?)",
                      path, version, expect);
        return BGNBD_ERR_DATA;
    }
    snprintf(m->model_version, sizeof(m->model_version), "%s", expect);
    return 0;
}

int bgnbd_model_read(struct bgnbd_model *m, const char *path, char *err, size_t errlen)
{
    const char *end = NULL;
    size_t len = 0;
    char *buf = fileio_read(path, BGNBD_MODEL_MAX_BYTES, &len, err, errlen);
    cJSON *root = NULL;
    int rc = BGNBD_ERR_IO;

    memset(m, 0, sizeof(*m));
    if (buf == NULL) {
        goto out;
    }
    rc = BGNBD_ERR_DATA;
    if (strlen(buf) != len) {
        errbuf_printf(err, errlen, "%s: a NUL byte at byte %zu", path, strlen(buf));
        goto out;
    }
    /* len + 1: the NUL fileio_read puts after the bytes, which cJSON wants
     * to see when it refuses anything but white space after the object. */
    root = cJSON_ParseWithLengthOpts(buf, len + 1, &end, 1);
    if (root == NULL) {
        errbuf_printf(err, errlen, "%s: malformed JSON at byte %zu", path,
                      end != NULL && end >= buf ? (size_t)(end - buf) : (size_t)0);
        goto out;
    }
    if (!cJSON_IsObject(root)) {
        errbuf_printf(err, errlen, "%s: not a JSON object", path);
        goto out;
    }
    if (bgnbd_model_numbers(root, m, path, err, errlen) != 0 ||
        bgnbd_model_strings(root, m, path, err, errlen) != 0) {
        goto out;
    }
    rc = 0;
out:
    cJSON_Delete(root);
    free(buf);
    return rc;
}
