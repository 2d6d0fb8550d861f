/* status.h - the one error type of convkit.
 *
 * Every public function that can fail returns enum ck_status; CK_OK is 0 and the
 * other codes are distinct. "Invalid" means the caller broke a rule (a bug in the
 * call); "unsupported" means the request is valid but this backend cannot do it.
 * Library code never prints or exits: it returns a status and, where a function
 * takes a (msg, msg_len) pair, writes one human-readable line there.
 */
#ifndef CONVKIT_STATUS_H
#define CONVKIT_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

enum ck_status {
    CK_OK = 0,                  /**< success */
    CK_ERR_INVALID_ARGUMENT,    /**< caller error: bad shape, stride 0, NULL pointer, ... */
    CK_ERR_UNSUPPORTED,         /**< valid, but this backend/layer cannot do it */
    CK_ERR_OUT_OF_MEMORY,       /**< an allocation failed */
    CK_ERR_IO,                  /**< a file could not be opened, read or written */
    CK_ERR_CORRUPT_DATA,        /**< a file or buffer is malformed or truncated */
    CK_ERR_CPU_FEATURE,         /**< the CPU lacks an instruction set the code needs */
    CK_ERR_DIVERGED,            /**< a loss or gradient became NaN or Inf */
    CK_ERR_WORKSPACE_TOO_SMALL, /**< the caller's workspace is smaller than asked for */
    CK_STATUS_COUNT
};

/** @brief Short English description of a status, never NULL. */
const char *ck_status_str(enum ck_status status);

#ifdef __cplusplus
}
#endif
#endif
