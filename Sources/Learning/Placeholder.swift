// The Learning module; its parts arrive in their own files.
