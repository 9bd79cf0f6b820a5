/* analytics-train bgnbd: fits the churn model, or scores customers with it. */
#include "bgnbd_cmd.h"

#include "analytics/bgnbd_model.h"
#include "analytics/config.h"
#include "analytics/errbuf.h"
#include "analytics/pg.h"
#include "analytics/textcheck.h"
#include "analytics/tz.h"
#include "bgnbd_data.h"
#include "bgnbd_db.h"
#include "csv.h"
#include "train.h"
#include "train_db.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PROG "analytics-train bgnbd"
#define BGNBD_CMD_CSV_MAX_BYTES ((size_t)1 << 30)
#define BGNBD_CMD_HORIZON_MAX 1e6

static void bgnbd_cmd_usage(FILE *out)
{
    fprintf(out,
            "usage: analytics-train bgnbd --transactions FILE.csv --calibration-end YYYY-MM-DD\n"
            "                             [--unit day|week] --out MODEL.json\n"
            "       analytics-train bgnbd --predict --model MODEL.json --transactions FILE.csv\n"
            "                             [--calibration-end YYYY-MM-DD] [--unit day|week] "
            "--horizon N\n"
            "       analytics-train bgnbd --from-db [--basis sessions|bookings]\n"
            "                             [--calibration-end YYYY-MM-DD] [--unit day|week] "
            "--out MODEL.json\n\n"
            "Fits the BG/NBD churn model (Fader, Hardie & Lee 2005) by maximum likelihood, or\n"
            "scores customers with a fitted one.\n\n"
            "Transactions are a CSV with columns customer_id and date (YYYY-MM-DD). A customer's\n"
            "transactions on one day count as one, only those on or before the calibration end\n"
            "count, and time runs in whole days from the end of a customer's first day to the\n"
            "end of the calibration-end day, in --unit (default: day; for --predict, the\n"
            "model's). A fit writes the model to --out and prints it on one JSON line.\n\n"
            "--predict prints customer_id,p_alive,expected_transactions,churn_risk for each\n"
            "customer, in the order of their first transaction in the file: the chance they are\n"
            "still active, the transactions expected in the next N units, and the chance of none\n"
            "in them. The calibration end defaults to the model's.\n\n"
            "--from-db fits from the sessions table: a customer is a visitor (fingerprint), a\n"
            "transaction a day with a session (--basis sessions, the default) or with a\n"
            "converted session (--basis bookings); bots never count. Days are those of the\n"
            "site's zone, ANALYTICS_SITE_TIMEZONE (an IANA name, default UTC), as the scorer\n"
            "counts them. The calibration end defaults to today there.\n\n"
            "Exit: 0 done; 1 a file unreadable, the database unreachable, or the fit did not\n"
            "converge; 64 bad arguments; 65 bad data (the message names the file, line and\n"
            "column); 78 a bad variable.\n\n");
    train_db_usage(out);
}

/* Matches argv[*i] against --name VALUE or --name=VALUE. Returns 1 with
 * *value set (and *i advanced past it), 0 when it is another option, -1
 * when the value is missing. */
static int bgnbd_cmd_value(int argc, char **argv, int *i, const char *name, const char **value)
{
    const char *a = argv[*i];
    size_t len = strlen(name);

    if (strncmp(a, name, len) != 0 || (a[len] != '\0' && a[len] != '=')) {
        return 0;
    }
    if (a[len] == '=') {
        *value = a + len + 1;
    } else if (*i + 1 < argc) {
        *value = argv[++*i];
    } else {
        return -1;
    }
    return (*value)[0] != '\0' ? 1 : -1;
}

/* Parses the value of name into o. Returns 0, or -1 with the reason. */
static int bgnbd_cmd_set(struct bgnbd_cmd_opts *o, const char *name, const char *v, char *err,
                         size_t errlen)
{
    char *end;

    if (strcmp(name, "--transactions") == 0) {
        o->transactions = v;
    } else if (strcmp(name, "--model") == 0) {
        o->model = v;
    } else if (strcmp(name, "--out") == 0) {
        o->out = v;
    } else if (strcmp(name, "--calibration-end") == 0) {
        if (textcheck_date(v, &o->cal_end) != 0) {
            errbuf_printf(err, errlen, "--calibration-end: \"%s\" is not a date (YYYY-MM-DD)", v);
            return -1;
        }
        o->has_cal_end = true;
    } else if (strcmp(name, "--unit") == 0) {
        if (bgnbd_unit_parse(v, &o->unit) != 0) {
            errbuf_printf(err, errlen, "--unit: \"%s\" is not a unit (day or week)", v);
            return -1;
        }
        o->has_unit = true;
    } else if (strcmp(name, "--basis") == 0) {
        if (bgnbd_basis_parse(v, &o->basis) != 0 || o->basis == BGNBD_BASIS_TRANSACTIONS) {
            errbuf_printf(err, errlen, "--basis: \"%s\" is not sessions or bookings", v);
            return -1;
        }
        o->has_basis = true;
    } else {
        o->horizon = strtod(v, &end);
        if (end == v || *end != '\0' || !isfinite(o->horizon) || !(o->horizon > 0) ||
            o->horizon > BGNBD_CMD_HORIZON_MAX) {
            errbuf_printf(err, errlen, "--horizon: \"%s\" is not a number of units in (0, %g]", v,
                          BGNBD_CMD_HORIZON_MAX);
            return -1;
        }
        o->has_horizon = true;
    }
    return 0;
}

/* Checks that the mode has what it needs and nothing it does not take. */
static int bgnbd_cmd_check(const struct bgnbd_cmd_opts *o, char *err, size_t errlen)
{
    const char *missing = NULL, *extra = NULL;

    if (o->mode == BGNBD_CMD_FIT) {
        missing = o->transactions == NULL ? "--transactions"
                  : !o->has_cal_end       ? "--calibration-end"
                  : o->out == NULL        ? "--out"
                                          : NULL;
        extra = o->model != NULL ? "--model"
                : o->has_horizon ? "--horizon"
                : o->has_basis   ? "--basis"
                                 : NULL;
    } else if (o->mode == BGNBD_CMD_PREDICT) {
        missing = o->model == NULL          ? "--model"
                  : o->transactions == NULL ? "--transactions"
                  : !o->has_horizon         ? "--horizon"
                                            : NULL;
        extra = o->out != NULL ? "--out" : o->has_basis ? "--basis" : NULL;
    } else {
        missing = o->out == NULL ? "--out" : NULL;
        extra = o->transactions != NULL ? "--transactions"
                : o->model != NULL      ? "--model"
                : o->has_horizon        ? "--horizon"
                                        : NULL;
    }
    if (missing != NULL) {
        errbuf_printf(err, errlen, "%s is required", missing);
        return -1;
    }
    if (extra != NULL) {
        errbuf_printf(err, errlen, "%s does not go with %s", extra,
                      o->mode == BGNBD_CMD_PREDICT   ? "--predict"
                      : o->mode == BGNBD_CMD_FROM_DB ? "--from-db"
                                                     : "a fit from --transactions");
        return -1;
    }
    return 0;
}

int bgnbd_cmd_parse(int argc, char **argv, struct bgnbd_cmd_opts *o, char *err, size_t errlen)
{
    static const char *const valued[] = {"--transactions",    "--model", "--out",
                                         "--calibration-end", "--unit",  "--basis",
                                         "--horizon"};
    bool predict = false, from_db = false;

    *o = (struct bgnbd_cmd_opts){.mode = BGNBD_CMD_FIT};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        int m = 0;

        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            o->help = true;
            continue;
        }
        if (strcmp(a, "--predict") == 0) {
            predict = true;
            continue;
        }
        if (strcmp(a, "--from-db") == 0) {
            from_db = true;
            continue;
        }
        for (size_t k = 0; m == 0 && k < sizeof(valued) / sizeof(valued[0]); k++) {
            m = bgnbd_cmd_value(argc, argv, &i, valued[k], &v);
            if (m == -1) {
                errbuf_printf(err, errlen, "%s needs a value", valued[k]);
                return -1;
            }
            if (m == 1 && bgnbd_cmd_set(o, valued[k], v, err, errlen) != 0) {
                return -1;
            }
        }
        if (m == 0) {
            errbuf_printf(err, errlen, "unknown argument '%s'", a);
            return -1;
        }
    }
    if (o->help) {
        return 0;
    }
    if (predict && from_db) {
        errbuf_printf(err, errlen, "--predict and --from-db exclude each other");
        return -1;
    }
    o->mode = predict ? BGNBD_CMD_PREDICT : from_db ? BGNBD_CMD_FROM_DB : BGNBD_CMD_FIT;
    return bgnbd_cmd_check(o, err, errlen);
}

/* ---- running it ---- */

/* Reads the transactions CSV into summaries. Returns 0 or the exit code. */
static int bgnbd_cmd_load_csv(const char *path, long long cal_end, enum bgnbd_unit unit,
                              struct bgnbd_data *data)
{
    struct csv c;
    char err[1024];
    FILE *f = fopen(path, "r");
    int rc;

    if (f == NULL) {
        fprintf(stderr, PROG ": %s: cannot read it: %s\n", path, strerror(errno));
        return 1;
    }
    fclose(f);
    if (csv_read(&c, path, BGNBD_CMD_CSV_MAX_BYTES, err, sizeof(err)) != 0) {
        fprintf(stderr, PROG ": %s\n", err);
        return TRAIN_EX_DATAERR;
    }
    rc = bgnbd_data_from_csv(&c, path, cal_end, unit, data, err, sizeof(err));
    csv_free(&c);
    if (rc != 0) {
        fprintf(stderr, PROG ": %s\n", err);
        return rc == BGNBD_DATA_ERR_DATA ? TRAIN_EX_DATAERR : 1;
    }
    return 0;
}

static double bgnbd_cmd_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Fits data, writes the model to out and prints it. where names the
 * source in messages. Returns the exit code. */
static int bgnbd_cmd_fit_write(const struct bgnbd_data *data, const char *where,
                               const struct bgnbd_cmd_opts *o, enum bgnbd_basis basis)
{
    struct bgnbd_fit fit;
    struct bgnbd_model m = {.unit = o->unit, .basis = basis};
    char err[1024];
    double t0 = bgnbd_cmd_seconds();
    int rc = bgnbd_fit(data->customers, data->n, &fit, err, sizeof(err));

    if (rc != 0) {
        fprintf(stderr, PROG ": %s: %s\n", where, err);
        return rc == BGNBD_ERR_DATA ? TRAIN_EX_DATAERR : 1;
    }
    double seconds = bgnbd_cmd_seconds() - t0;
    m.params = fit.params;
    m.log_likelihood = fit.log_likelihood;
    m.customers = (long long)fit.customers;
    bgnbd_data_day_text(o->cal_end, m.calibration_end);
    bgnbd_model_version(&m.params, m.unit, m.model_version);
    if (bgnbd_model_write(&m, o->out, err, sizeof(err)) != 0) {
        fprintf(stderr, PROG ": %s\n", err);
        return 1;
    }
    cJSON *line = bgnbd_model_json(&m);
    char *text = NULL;
    if (line != NULL && cJSON_AddNumberToObject(line, "fit_seconds", seconds) != NULL &&
        cJSON_AddNumberToObject(line, "iterations", fit.iterations) != NULL &&
        cJSON_AddNumberToObject(line, "gradient_norm", fit.gradient_norm) != NULL) {
        text = cJSON_PrintUnformatted(line);
    }
    if (text != NULL) {
        printf("%s\n", text);
    }
    free(text);
    cJSON_Delete(line);
    return text != NULL ? 0 : 1;
}

static int bgnbd_cmd_fit(const struct bgnbd_cmd_opts *o)
{
    struct bgnbd_data data = {0};
    int rc = bgnbd_cmd_load_csv(o->transactions, o->cal_end, o->unit, &data);

    if (rc == 0) {
        rc = bgnbd_cmd_fit_write(&data, o->transactions, o, BGNBD_BASIS_TRANSACTIONS);
    }
    bgnbd_data_fini(&data);
    return rc;
}

/* Prints id as a CSV field, quoted when it must be. */
static void bgnbd_cmd_csv_field(FILE *out, const char *id)
{
    if (strpbrk(id, ",\"\r\n") == NULL) {
        fputs(id, out);
        return;
    }
    fputc('"', out);
    for (; *id != '\0'; id++) {
        if (*id == '"') {
            fputc('"', out);
        }
        fputc(*id, out);
    }
    fputc('"', out);
}

/* Prints the scores of every customer. Returns the exit code. */
static int bgnbd_cmd_scores(const struct bgnbd_params *p, const struct bgnbd_data *data,
                            double horizon, const char *where)
{
    printf("customer_id,p_alive,expected_transactions,churn_risk\n");
    for (size_t i = 0; i < data->n; i++) {
        const struct bgnbd_customer *c = &data->customers[i];
        double pa = bgnbd_p_alive(p, c), e = bgnbd_expected_transactions(p, c, horizon);
        double risk = bgnbd_churn_risk(p, c, horizon);

        if (!isfinite(pa) || !isfinite(e) || !isfinite(risk)) {
            fprintf(stderr,
                    PROG ": %s: customer %s: the model gives no answer (x %g, t_x %g, T %g)\n",
                    where, data->ids[i], c->x, c->t_x, c->T);
            return 1;
        }
        bgnbd_cmd_csv_field(stdout, data->ids[i]);
        printf(",%.9g,%.9g,%.9g\n", pa, e, risk);
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, PROG ": cannot write the scores: %s\n", strerror(errno));
        return 1;
    }
    return 0;
}

static int bgnbd_cmd_predict(struct bgnbd_cmd_opts *o)
{
    struct bgnbd_model m;
    struct bgnbd_data data = {0};
    char err[1024];
    int rc = bgnbd_model_read(&m, o->model, err, sizeof(err));

    if (rc != 0) {
        fprintf(stderr, PROG ": %s\n", err);
        return rc == BGNBD_ERR_DATA ? TRAIN_EX_DATAERR : 1;
    }
    if (!o->has_unit) {
        o->unit = m.unit;
    }
    if (!o->has_cal_end) {
        textcheck_date(m.calibration_end, &o->cal_end);
    }
    struct bgnbd_params p = bgnbd_params_in_unit(&m.params, m.unit, o->unit);
    rc = bgnbd_cmd_load_csv(o->transactions, o->cal_end, o->unit, &data);
    if (rc == 0) {
        rc = bgnbd_cmd_scores(&p, &data, o->horizon, o->transactions);
    }
    bgnbd_data_fini(&data);
    return rc;
}

/* The site's zone from ANALYTICS_SITE_TIMEZONE (UTC when unset), opened
 * into *tz. Returns 0, or CONFIG_EX_CONFIG having said why. */
static int bgnbd_cmd_zone(const char **name, struct tz **tz)
{
    const char *v = getenv("ANALYTICS_SITE_TIMEZONE");
    char why[256];

    *name = v != NULL && v[0] != '\0' ? v : "UTC";
    if (tz_open(*name, NULL, tz, why, sizeof(why)) != 0) {
        fprintf(stderr, PROG ": config: ANALYTICS_SITE_TIMEZONE: %s\n", why);
        return CONFIG_EX_CONFIG;
    }
    return 0;
}

static int bgnbd_cmd_from_db(struct bgnbd_cmd_opts *o)
{
    struct bgnbd_data data = {0};
    struct tz *tz = NULL;
    const char *zone;
    char err[1024];
    int rc = bgnbd_cmd_zone(&zone, &tz);
    PGconn *conn = rc == 0 ? train_db_open(PROG, &rc) : NULL;

    if (conn == NULL) {
        tz_free(tz);
        return rc;
    }
    if (!o->has_cal_end) {
        o->cal_end = tz_local_day(tz, (long long)time(NULL) * 1000);
    }
    tz_free(tz);
    if (!o->has_basis) {
        o->basis = BGNBD_BASIS_SESSIONS;
    }
    int lrc = bgnbd_db_load(conn, o->basis, o->cal_end, zone, o->unit, &data, err, sizeof(err));
    if (lrc != 0) {
        fprintf(stderr, PROG ": PostgreSQL sessions: %s\n", err);
        rc = lrc == BGNBD_DATA_ERR_DATA ? TRAIN_EX_DATAERR : 1;
    } else {
        rc = bgnbd_cmd_fit_write(&data, "PostgreSQL sessions", o, o->basis);
    }
    bgnbd_data_fini(&data);
    PQfinish(conn);
    return rc;
}

int train_bgnbd_main(int argc, char **argv)
{
    struct bgnbd_cmd_opts o;
    char err[512];

    if (bgnbd_cmd_parse(argc, argv, &o, err, sizeof(err)) != 0) {
        fprintf(stderr, PROG ": %s (try --help)\n", err);
        return TRAIN_EX_USAGE;
    }
    if (o.help) {
        bgnbd_cmd_usage(stdout);
        return 0;
    }
    switch (o.mode) {
    case BGNBD_CMD_PREDICT:
        return bgnbd_cmd_predict(&o);
    case BGNBD_CMD_FROM_DB:
        return bgnbd_cmd_from_db(&o);
    default:
        return bgnbd_cmd_fit(&o);
    }
}
