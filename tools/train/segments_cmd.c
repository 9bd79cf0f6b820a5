/* analytics-train segments: the personas from profiles (segments.c). */
#include "csv.h"
#include "segments.h"
#include "train.h"
#include "train_db.h"

#include "analytics/persona.h"
#include "analytics/pg.h"

#include <getopt.h>
#include <stdbool.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEGMENTS_CSV_MAX (512L * 1024 * 1024)

static const char segments_usage[] =
    "usage: analytics-train segments (--profiles FILE.csv | --from-db) --out personas.json\n"
    "                                [--k N] [--seed N] [--sample N] [--export FILE.csv]\n"
    "                                [--stability [--bootstraps B]]\n\n"
    "Clusters visitor profiles into personas (k-means++ on standardised features; k in 8..12\n"
    "by the best mean silhouette unless --k is given), names each from its centroid and\n"
    "writes the model the scorer loads. Prints one JSON line: k, silhouette per k, profiles,\n"
    "and with --stability the adjusted Rand index between the clustering and refits on\n"
    "bootstrap samples (mean and least).\n\n"
    "The CSV has a header naming at least the columns sessions, page_views, seconds,\n"
    "pricing_views, bookings_started, bookings_completed, forms_started, rage_clicks,\n"
    "exit_intents, deepest_scroll, active_days (user_behavior_profiles' counts; active_days\n"
    "is last seen minus first seen in days).\n\n"
    "  --profiles FILE  the profiles\n"
    "  --from-db        the profiles in user_behavior_profiles (ANALYTICS_PG_DSN), visitors\n"
    "                   with at least one event scored (bots never are)\n"
    "  --export FILE    also writes the profiles read, as the CSV --profiles takes\n"
    "  --labels FILE    with --from-db: writes fingerprint,persona for every profile\n"
    "  --out FILE       where the model goes (written whole or not at all)\n"
    "  --k N            a fixed number of personas (2..12)\n"
    "  --seed N         the random seed (default 42)\n"
    "  --sample N       profiles the silhouette is measured on (default 3000)\n"
    "  --stability      measure the stability\n"
    "  --bootstraps B   refits for it (default 10)\n";

/* The CSV columns, in struct persona_input's order. */
static const char *const input_columns[] = {
    "sessions",         "page_views",         "seconds",       "pricing_views",
    "bookings_started", "bookings_completed", "forms_started", "rage_clicks",
    "exit_intents",     "deepest_scroll",     "active_days",
};
#define NINPUT (sizeof(input_columns) / sizeof(input_columns[0]))

struct segments_args {
    const char *profiles, *out, *export, *labels;
    bool from_db;
    struct segments_opts o;
};

static int parse_long(const char *s, long lo, long hi, long *out)
{
    char *end = NULL;
    long v = strtol(s, &end, 10);

    if (s[0] == '\0' || *end != '\0' || v < lo || v > hi) {
        return -1;
    }
    *out = v;
    return 0;
}

/* Returns 0, 1 for --help, or TRAIN_EX_USAGE having said why. */
static int segments_args(int argc, char **argv, struct segments_args *a)
{
    static const struct option opts[] = {
        {"profiles", required_argument, NULL, 'p'},   {"out", required_argument, NULL, 'o'},
        {"k", required_argument, NULL, 'k'},          {"seed", required_argument, NULL, 's'},
        {"sample", required_argument, NULL, 'n'},     {"stability", no_argument, NULL, 'S'},
        {"bootstraps", required_argument, NULL, 'b'}, {"help", no_argument, NULL, 'h'},
        {"from-db", no_argument, NULL, 'd'},          {"export", required_argument, NULL, 'e'},
        {"labels", required_argument, NULL, 'l'},     {NULL, 0, NULL, 0},
    };
    bool stability = false;
    long v;
    int c;

    *a = (struct segments_args){NULL, NULL,  NULL,
                                NULL, false, {SEGMENTS_K_MIN, SEGMENTS_K_MAX, 42, 3000, 12, 0}};
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'p':
            a->profiles = optarg;
            break;
        case 'o':
            a->out = optarg;
            break;
        case 'k':
            if (parse_long(optarg, 2, SEGMENTS_K_MAX, &v) != 0) {
                fprintf(stderr, "analytics-train segments: --k must be 2..%d\n", SEGMENTS_K_MAX);
                return TRAIN_EX_USAGE;
            }
            a->o.k_min = a->o.k_max = (int)v;
            break;
        case 's':
            if (parse_long(optarg, 0, 2147483647L, &v) != 0) {
                fprintf(stderr, "analytics-train segments: --seed must be a whole number\n");
                return TRAIN_EX_USAGE;
            }
            a->o.seed = (uint64_t)v;
            break;
        case 'n':
            if (parse_long(optarg, 100, 100000, &v) != 0) {
                fprintf(stderr, "analytics-train segments: --sample must be 100..100000\n");
                return TRAIN_EX_USAGE;
            }
            a->o.sample = (size_t)v;
            break;
        case 'S':
            stability = true;
            break;
        case 'd':
            a->from_db = true;
            break;
        case 'e':
            a->export = optarg;
            break;
        case 'l':
            a->labels = optarg;
            break;
        case 'b':
            if (parse_long(optarg, 1, 1000, &v) != 0) {
                fprintf(stderr, "analytics-train segments: --bootstraps must be 1..1000\n");
                return TRAIN_EX_USAGE;
            }
            a->o.bootstraps = (int)v;
            break;
        case 'h':
            fputs(segments_usage, stdout);
            return 1;
        default:
            fputs(segments_usage, stderr);
            return TRAIN_EX_USAGE;
        }
    }
    if (optind < argc || (a->profiles == NULL) == !a->from_db || a->out == NULL) {
        fprintf(stderr, "analytics-train segments: %s\n",
                optind < argc ? "unexpected argument"
                              : "one of --profiles and --from-db, and --out, are required");
        return TRAIN_EX_USAGE;
    }
    a->o.bootstraps = stability ? (a->o.bootstraps > 0 ? a->o.bootstraps : 10) : 0;
    return 0;
}

/* Parses the input cells of one profile into its features; an export
 * file, when open, gets the row. Returns 0, or -1 naming the bad column
 * (*bad). */
static int segments_row(const char *const *cells, double *features, FILE *export, size_t *bad)
{
    double v[NINPUT];

    for (size_t j = 0; j < NINPUT; j++) {
        char *end = NULL;
        v[j] = strtod(cells[j], &end);
        if (cells[j][0] == '\0' || *end != '\0' || !isfinite(v[j]) || v[j] < 0) {
            *bad = j;
            return -1;
        }
    }
    struct persona_input in = {v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10]};
    persona_features(&in, features);
    for (size_t j = 0; export != NULL && j < NINPUT; j++) {
        fprintf(export, "%s%s", cells[j], j + 1 < NINPUT ? "," : "\n");
    }
    return 0;
}

static void segments_export_header(FILE *export)
{
    for (size_t j = 0; export != NULL && j < NINPUT; j++) {
        fprintf(export, "%s%s", input_columns[j], j + 1 < NINPUT ? "," : "\n");
    }
}

/* The profiles' counts as user_behavior_profiles holds them, in
 * input_columns' order; visitors with events (bots only have none). */
static const char segments_sql[] =
    "SELECT sessions, page_views, total_time_s, pricing_views, bookings_started,"
    " bookings_completed, forms_started, rage_clicks, exit_intents, deepest_scroll,"
    " round((extract(epoch FROM last_seen_at - first_seen_at) / 86400)::numeric, 3), fingerprint"
    " FROM user_behavior_profiles WHERE events > 0 ORDER BY fingerprint";

/* Reads the profiles from the database. Returns 0, or an exit code having
 * said why. */
static int segments_read_db(double **x, size_t *n, FILE *export, FILE *labels_fps)
{
    int rc;
    PGconn *conn = train_db_open("analytics-train segments", &rc);

    if (conn == NULL) {
        return rc;
    }
    PGresult *res = PQexec(conn, segments_sql);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        char err[512];
        pg_result_error(res, conn, err, sizeof(err));
        fprintf(stderr, "analytics-train segments: PostgreSQL profiles: %s\n", err);
        rc = 1;
        goto out;
    }
    *n = (size_t)PQntuples(res);
    *x = malloc((*n > 0 ? *n : 1) * PERSONA_F_COUNT * sizeof(**x));
    if (*x == NULL) {
        fprintf(stderr, "analytics-train segments: out of memory\n");
        rc = 1;
        goto out;
    }
    segments_export_header(export);
    rc = 0;
    for (size_t r = 0; r < *n && rc == 0; r++) {
        const char *cells[NINPUT];
        size_t bad = 0;
        for (size_t j = 0; j < NINPUT; j++) {
            cells[j] = PQgetisnull(res, (int)r, (int)j) ? "" : PQgetvalue(res, (int)r, (int)j);
        }
        if (segments_row(cells, *x + r * PERSONA_F_COUNT, export, &bad) != 0) {
            fprintf(stderr,
                    "analytics-train segments: PostgreSQL profiles: row %zu: %s is \"%s\"\n", r + 1,
                    input_columns[bad], cells[bad]);
            rc = TRAIN_EX_DATAERR;
        }
        if (labels_fps != NULL) {
            fprintf(labels_fps, "%s\n", PQgetvalue(res, (int)r, (int)NINPUT));
        }
    }
out:
    PQclear(res);
    PQfinish(conn);
    return rc;
}

/* Reads the CSV's rows into features (caller frees *x). Returns 0, or
 * TRAIN_EX_DATAERR / 1 having said why. */
static int segments_read(const char *path, double **x, size_t *n, FILE *export)
{
    struct csv c;
    char err[512];
    int col[NINPUT];

    if (csv_read(&c, path, SEGMENTS_CSV_MAX, err, sizeof(err)) != 0) {
        fprintf(stderr, "analytics-train segments: %s\n", err);
        return strstr(err, "line ") != NULL || strstr(err, "header") != NULL ? TRAIN_EX_DATAERR : 1;
    }
    for (size_t j = 0; j < NINPUT; j++) {
        if ((col[j] = csv_column(&c, input_columns[j])) < 0) {
            fprintf(stderr, "analytics-train segments: %s: no column \"%s\"\n", path,
                    input_columns[j]);
            csv_free(&c);
            return TRAIN_EX_DATAERR;
        }
    }
    *n = c.rows;
    *x = malloc((c.rows > 0 ? c.rows : 1) * PERSONA_F_COUNT * sizeof(**x));
    if (*x == NULL) {
        csv_free(&c);
        fprintf(stderr, "analytics-train segments: out of memory\n");
        return 1;
    }
    segments_export_header(export);
    for (size_t r = 0; r < c.rows; r++) {
        const char *cells[NINPUT];
        size_t bad = 0;
        for (size_t j = 0; j < NINPUT; j++) {
            cells[j] = csv_cell(&c, r, (size_t)col[j]);
        }
        if (segments_row(cells, *x + r * PERSONA_F_COUNT, export, &bad) != 0) {
            fprintf(stderr,
                    "analytics-train segments: %s: line %zu: column \"%s\": \"%.40s\" is not a "
                    "count\n",
                    path, csv_line(&c, r), input_columns[bad], cells[bad]);
            csv_free(&c);
            free(*x);
            *x = NULL;
            return TRAIN_EX_DATAERR;
        }
    }
    csv_free(&c);
    return 0;
}

static void segments_print(const struct persona_model *m, const struct segments_report *rep)
{
    printf("{\"k\":%d,\"profiles\":%zu,\"silhouette\":%.4f,\"silhouette_by_k\":{", m->k,
           m->profiles, m->silhouette);
    bool first = true;
    for (int k = 2; k <= SEGMENTS_K_MAX; k++) {
        if (!isnan(rep->silhouette_by_k[k])) {
            printf("%s\"%d\":%.4f", first ? "" : ",", k, rep->silhouette_by_k[k]);
            first = false;
        }
    }
    printf("}");
    if (!isnan(rep->ari_mean)) {
        printf(",\"stability_ari\":%.4f,\"stability_ari_min\":%.4f", rep->ari_mean, rep->ari_min);
    }
    printf(",\"model_version\":\"%s\",\"personas\":[", m->version);
    for (int c = 0; c < m->k; c++) {
        printf("%s{\"name\":\"%s\",\"share\":%.4f}", c > 0 ? "," : "", m->names[c], m->share[c]);
    }
    printf("]}\n");
}

/* Writes fingerprint,persona for the n profiles (fingerprints one a line in
 * fps, in order). Returns 0 or 1 having said why. */
static int segments_write_labels(const struct persona_model *m, const double *x, size_t n,
                                 FILE *fps, const char *path)
{
    FILE *out = fopen(path, "w");
    char fp[512];

    if (out == NULL) {
        fprintf(stderr, "analytics-train segments: %s: cannot write\n", path);
        return 1;
    }
    rewind(fps);
    fprintf(out, "fingerprint,persona\n");
    for (size_t i = 0; i < n && fgets(fp, sizeof(fp), fps) != NULL; i++) {
        fp[strcspn(fp, "\n")] = '\0';
        fprintf(out, "%s,%s\n", fp, m->names[persona_assign(m, x + i * PERSONA_F_COUNT)]);
    }
    if (fclose(out) != 0) {
        fprintf(stderr, "analytics-train segments: %s: cannot write\n", path);
        return 1;
    }
    return 0;
}

int train_segments_main(int argc, char **argv)
{
    struct segments_args a;
    struct persona_model *m = calloc(1, sizeof(*m));
    struct segments_report rep;
    double *x = NULL;
    size_t n = 0;
    char err[512] = "";
    int rc = segments_args(argc, argv, &a);

    if (rc != 0 || m == NULL) {
        free(m);
        return rc == 1 ? 0 : rc != 0 ? rc : 1;
    }
    FILE *export = a.export != NULL ? fopen(a.export, "w") : NULL;
    if (a.export != NULL && export == NULL) {
        fprintf(stderr, "analytics-train segments: %s: cannot write\n", a.export);
        free(m);
        return 1;
    }
    FILE *fps = a.labels != NULL && a.from_db ? tmpfile() : NULL;
    rc = a.from_db ? segments_read_db(&x, &n, export, fps)
                   : segments_read(a.profiles, &x, &n, export);
    if (export != NULL && fclose(export) != 0 && rc == 0) {
        fprintf(stderr, "analytics-train segments: %s: cannot write\n", a.export);
        rc = 1;
    }
    if (rc == 0 && segments_fit(x, n, &a.o, m, &rep, err, sizeof(err)) != 0) {
        fprintf(stderr, "analytics-train segments: %s: %s\n",
                a.from_db ? "PostgreSQL profiles" : a.profiles, err);
        rc = strstr(err, "memory") != NULL ? 1 : TRAIN_EX_DATAERR;
    }
    if (rc == 0 && persona_model_save(m, a.out, err, sizeof(err)) != 0) {
        fprintf(stderr, "analytics-train segments: %s\n", err);
        rc = 1;
    }
    if (rc == 0) {
        segments_print(m, &rep);
    }
    if (rc == 0 && fps != NULL) {
        rc = segments_write_labels(m, x, n, fps, a.labels);
    }
    if (fps != NULL) {
        fclose(fps);
    }
    free(x);
    free(m);
    return rc;
}
