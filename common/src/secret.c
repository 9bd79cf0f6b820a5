/* Secrets compared in constant time. Contracts in analytics/secret.h. */
#include "analytics/secret.h"

/* Compares the configured key want[0..want_len) with the candidate
 * got[0..got_len) (NUL-terminated) in time that depends only on want_len:
 * every byte of want is compared, past the end of got against its NUL. */
bool secret_equal(const char *want, size_t want_len, const char *got, size_t got_len)
{
    volatile unsigned char acc = 0;

    for (size_t i = 0; i < want_len; i++) {
        size_t j = i < got_len ? i : got_len;
        acc |= (unsigned char)(want[i] ^ got[j]);
    }
    acc |= (unsigned char)(want_len != got_len);
    return acc == 0;
}
