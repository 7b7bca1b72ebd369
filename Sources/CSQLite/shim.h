// The board OS's own SQLite (libsqlite3), for the durable journal.
#include <sqlite3.h>

/// SQLITE_TRANSIENT is a macro casting -1 to a function pointer, which Swift cannot import:
/// sqlite3_bind_text/blob with it copy the bytes before returning.
static inline sqlite3_destructor_type aliquot_sqlite_transient(void) {
    return SQLITE_TRANSIENT;
}
