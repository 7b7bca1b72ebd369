// The board OS's own libcurl (with its TLS library and CA store), for the journal's uplink.
#include <curl/curl.h>
