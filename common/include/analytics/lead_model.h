#ifndef ANALYTICS_LEAD_MODEL_H
#define ANALYTICS_LEAD_MODEL_H

/*
 * The lead model: a gradient-boosted classifier (XGBoost, binary:logistic)
 * of "this session converts" over the lead features (lead_features.h),
 * calibrated by Platt scaling, that the scorer loads and analytics-train
 * writes.
 *
 * The file is XGBoost's own JSON model (XGBoost reads it as it is), with
 * our metadata as booster attributes:
 *   analytics_format  "lead/1" (LEAD_MODEL_FORMAT)
 *   model_version     "lead-" and 12 hex digits of a hash of what it was
 *                     trained from (data, seed, parameters); no clock
 *   calibration_a,    Platt scaling in logit space: calibrated =
 *   calibration_b     1 / (1 + exp(-(a * margin + b)))
 *   evaluation        the hold-out figures as a JSON object, when trained
 *                     with a hold-out
 * and the feature names (lead_feature_names, in order) as the booster's
 * feature_name info.
 *
 * Not thread-safe: a model object predicts from one thread at a time (it
 * keeps the one input row and XGBoost's call configuration inside). The
 * scorer predicts from one thread; two threads would load two objects.
 *
 * Model files are trusted: loading checks that a file is ours and fits
 * these features, not that every tree in it is well formed.
 */

#include "analytics/lead_features.h"

#include <stddef.h>

#define LEAD_MODEL_FORMAT "lead/1"
/* Larger model files are refused (the shipped one is well under 1 MB). */
#define LEAD_MODEL_MAX_BYTES ((size_t)64 << 20)
/* One reason's text, NUL included. */
#define LEAD_REASON_MAX 80

struct lead_model;

/* One prediction. */
struct lead_prediction {
    double raw;         /* XGBoost's probability, before calibration */
    double probability; /* calibrated */
    int score;          /* round(100 x probability), 0..100 */
    /* lead_model_explain only: each feature's contribution to the margin
     * (the logit before calibration; XGBoost's SHAP values, which sum with
     * contrib_bias to the margin). Left alone by lead_model_predict. */
    float contrib[LEAD_F_COUNT];
    float contrib_bias;
};

/* What the trainer stamps on a booster beside the trees. */
struct lead_model_meta {
    const char *version; /* "lead-" + 12 hex digits */
    double calibration_a;
    double calibration_b;
    const char *evaluation; /* a JSON object's text, or NULL for none */
};

/* Loads the model file at path (at most LEAD_MODEL_MAX_BYTES). Returns a
 * new model (caller frees with lead_model_free), or NULL with the reason in
 * err, naming the file: missing or unreadable, not JSON, not a lead model
 * (another XGBoost model, other JSON), a format other than lead/1, other
 * features or another count of them, bad calibration. */
struct lead_model *lead_model_load(const char *path, char *err, size_t errlen);

/* As lead_model_load, from the len bytes of a file's content at buf
 * (borrowed for the call); name stands for the file in messages. */
struct lead_model *lead_model_load_buffer(const char *buf, size_t len, const char *name, char *err,
                                          size_t errlen);

/* Releases m. Accepts NULL. */
void lead_model_free(struct lead_model *m);

/* The model's version. Borrowed; valid until lead_model_free(m). */
const char *lead_model_version(const struct lead_model *m);

/* The hold-out figures stored at training (a JSON object's text), or NULL
 * when the model was trained without a hold-out. Borrowed, as above. */
const char *lead_model_evaluation(const struct lead_model *m);

/* Predicts one row x (features in enum order, NaN for missing): fills raw,
 * probability and score of *out, not its contributions. Returns 0, or -1
 * with the reason in err (an infinite feature, an XGBoost failure). The
 * scorer's path: about 14 us p50, 20 us p99 with the shipped model on the
 * 2-core development machine (analytics-train lead --bench), inside the
 * 50 us budget. */
int lead_model_predict(struct lead_model *m, const float x[LEAD_F_COUNT],
                       struct lead_prediction *out, char *err, size_t errlen);

/* As lead_model_predict, and also each feature's contribution (XGBoost's
 * contributions, type 2: exact TreeSHAP). About 300 us p50 and 0.7-1.2 ms
 * p99, far over the scorer's 50 us budget: exact TreeSHAP over the 300
 * trees is nearly all of it (XGBoost computes contributions only from a
 * DMatrix, made per call, but that is about 9 us). Hence the split:
 * lead_model_predict for every event, this only when the reasons are to
 * be shown. */
int lead_model_explain(struct lead_model *m, const float x[LEAD_F_COUNT],
                       struct lead_prediction *out, char *err, size_t errlen);

/* Platt scaling: 1 / (1 + exp(-(a * margin + b))). Pure. */
double lead_model_calibrate(double a, double b, double margin);

/* The 0..100 score of a probability: round(100 p), clamped; 0 for NaN. */
int lead_model_score(double probability);

/* Stamps meta, the format and the feature names on booster (an XGBoost
 * BoosterHandle with LEAD_F_COUNT features) and writes it to path as
 * XGBoost JSON: to a temporary file beside path, then renamed over it, so
 * path is never left half written. Returns 0, or -1 with the reason in err
 * (path left as it was). */
int lead_model_save(void *booster, const struct lead_model_meta *meta, const char *path, char *err,
                    size_t errlen);

/* The model booster would be once saved with meta: stamped as by
 * lead_model_save and loaded back from its JSON, so it predicts exactly as
 * the file will. Returns a new model (caller frees with lead_model_free),
 * or NULL with the reason in err. */
struct lead_model *lead_model_from_booster(void *booster, const struct lead_model_meta *meta,
                                           char *err, size_t errlen);

/*
 * Why a score is high, in words a marketer reads: up to max reasons into
 * out, one for each feature whose contribution raised the score, the
 * strongest first, phrased from the feature's value ("viewed 12 product
 * pages", "returning visitor", "a special day is near"). Features that
 * lowered the score or are missing (NaN) give none. Pure. Returns how many
 * were written.
 */
size_t lead_model_reasons(const float x[LEAD_F_COUNT], const float contrib[LEAD_F_COUNT],
                          char out[][LEAD_REASON_MAX], size_t max);

#endif
