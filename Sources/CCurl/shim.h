// The board OS's own libcurl (with its TLS library and CA store), for the journal's uplink.
#include <curl/curl.h>

// curl_easy_setopt(3) and curl_easy_getinfo(3) are variadic, which Swift cannot call; each
// wrapper fixes the argument type libcurl reads for that class of option (long, char *, void *,
// struct curl_slist *, a write callback, curl_off_t).

/// curl_easy_setopt with a `long` argument (CURLOPT_TIMEOUT_MS, CURLOPT_NOSIGNAL, CURLOPT_POST...).
static inline CURLcode aliquot_curl_setopt_long(CURL *handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}

/// curl_easy_setopt with a string argument (CURLOPT_URL, CURLOPT_USERAGENT...); libcurl copies it.
static inline CURLcode aliquot_curl_setopt_string(CURL *handle, CURLoption option, const char *value) {
    return curl_easy_setopt(handle, option, value);
}

/// curl_easy_setopt with a data pointer (CURLOPT_WRITEDATA, CURLOPT_POSTFIELDS: not copied).
static inline CURLcode aliquot_curl_setopt_pointer(CURL *handle, CURLoption option, void *value) {
    return curl_easy_setopt(handle, option, value);
}

/// curl_easy_setopt(CURLOPT_HTTPHEADER, list).
static inline CURLcode aliquot_curl_setopt_headers(CURL *handle, struct curl_slist *list) {
    return curl_easy_setopt(handle, CURLOPT_HTTPHEADER, list);
}

/// curl_easy_setopt(CURLOPT_POSTFIELDSIZE_LARGE, size).
static inline CURLcode aliquot_curl_setopt_postfieldsize(CURL *handle, curl_off_t size) {
    return curl_easy_setopt(handle, CURLOPT_POSTFIELDSIZE_LARGE, size);
}

/// The CURLOPT_WRITEFUNCTION callback type.
typedef size_t (*aliquot_curl_write_callback)(char *data, size_t size, size_t count, void *context);

/// curl_easy_setopt(CURLOPT_WRITEFUNCTION, callback).
static inline CURLcode aliquot_curl_setopt_write_function(CURL *handle, aliquot_curl_write_callback callback) {
    return curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, callback);
}

/// curl_easy_getinfo with a `long *` (CURLINFO_RESPONSE_CODE, CURLINFO_OS_ERRNO).
static inline CURLcode aliquot_curl_getinfo_long(CURL *handle, CURLINFO info, long *value) {
    return curl_easy_getinfo(handle, info, value);
}
