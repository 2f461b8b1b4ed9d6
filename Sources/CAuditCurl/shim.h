#include <curl/curl.h>

// curl_easy_setopt / curl_easy_getinfo are variadic and CURLVERSION_NOW is a macro: neither
// reaches Swift, so these typed wrappers do.
static inline CURLcode audit_curl_setopt_string(CURL *h, CURLoption o, const char *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode audit_curl_setopt_long(CURL *h, CURLoption o, long v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode audit_curl_setopt_pointer(CURL *h, CURLoption o, void *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode audit_curl_setopt_write_callback(CURL *h, CURLoption o, curl_write_callback v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode audit_curl_setopt_slist(CURL *h, CURLoption o, struct curl_slist *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode audit_curl_getinfo_long(CURL *h, CURLINFO i, long *out) { return curl_easy_getinfo(h, i, out); }
static inline curl_version_info_data *audit_curl_version_info(void) { return curl_version_info(CURLVERSION_NOW); }
// CURLOPT_*_LARGE options take a curl_off_t (64-bit), not a long.
static inline CURLcode audit_curl_setopt_off_t(CURL *h, CURLoption o, curl_off_t v) { return curl_easy_setopt(h, o, v); }
