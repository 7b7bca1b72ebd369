// The board OS's own SQLite (libsqlite3), for the durable journal.
#include <sqlite3.h>
