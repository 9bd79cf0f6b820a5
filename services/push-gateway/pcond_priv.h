#ifndef PUSH_GATEWAY_PCOND_PRIV_H
#define PUSH_GATEWAY_PCOND_PRIV_H

/* A parsed condition's layout, shared by pcond.c (parsing, evaluation) and
 * pcond_sql.c (the SQL form); nothing else includes it. */

#include "pcond.h"

#include <stddef.h>

enum pcond_kind { K_TERM, K_ALL, K_ANY, K_NOT };
enum pcond_op { OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE, OP_IN };

/* One term or combinator, in pre-order: a combinator's first child follows
 * it, each next child follows the previous one's subtree. */
struct pcond_node {
    unsigned char kind, op, type; /* type: the field's enum pcond_type */
    unsigned short field;
    unsigned short size;   /* nodes of this subtree, itself included */
    unsigned short nkids;  /* all, any: children; not: 1 */
    unsigned short s0, ns; /* text values: strs[s0 .. s0 + ns) */
    double num;            /* number, boolean (0, 1) or days_ago */
};

struct pcond {
    struct pcond_node nodes[PCOND_NODES_MAX];
    size_t n;
    char *strs[PCOND_STRS_MAX];
    size_t nstrs;
};

#endif
